import type { ServerResponse } from 'node:http'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/cli.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { poll } from '../helpers/wait.ts'

const json = (body: unknown) => (_request: unknown, response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

// Legacy and modern agree on the status and differ on the second item's price (an array index the
// register generalises), for every policy.
const fixture = gatewayWithUpstreams({
  legacy: json({ status: 'ACTIVE', items: [{ price: 1 }, { price: 2 }] }),
  modern: json({ status: 'ACTIVE', items: [{ price: 1 }, { price: 3 }] }),
  config: (legacyUrl, modernUrl) => {
    const config = sampleConfig(legacyUrl, modernUrl)
    const slice = config.slices['policy-status']!
    slice.shadow = {}
    slice.entityKey = { param: 'id' }
    slice.owner = { team: 'policy-team', contact: '#policy-migration' }
    return config
  },
})

describe('the discrepancy register through the gateway', () => {
  it('groups the live differences into one signature with its count, entities and examples, listed and shown on the admin API', async () => {
    for (let i = 0; i < 6; i++) await send(`${fixture.gateway.url}/policy/P-${i % 3}/status`, { headers: { 'x-request-id': `reg-${i}` } })
    expect(await comparisonOf(fixture.gateway.dataDir, 'reg-5')).toMatchObject({ owner: 'policy-team' })
    const listed = (await (await fetch(`${fixture.gateway.adminUrl}/admin/discrepancies?slice=policy-status`)).json()) as {
      register: { signatures: number }
      entries: DiscrepancyEntry[]
    }
    expect(listed.register.signatures).toBe(1)
    expect(listed.entries).toHaveLength(1)
    const [entry] = listed.entries
    expect(entry).toMatchObject({ slice: 'policy-status', route: 'GET /policy/:id/status', family: 'genuine-conflict', count: 6, entities: 3 })
    expect(entry?.paths).toHaveLength(1)
    expect(entry?.paths[0]).toMatch(/\/\*\//)
    expect(entry?.examples).toEqual(['reg-5', 'reg-4', 'reg-3', 'reg-2', 'reg-1'])
    // Untriaged, the signature is the slice owner's.
    expect(entry).toMatchObject({ owner: 'policy-team', triage: { state: 'open', assignee: 'policy-team', since: null } })
    const shown = await fetch(`${fixture.gateway.adminUrl}/admin/discrepancies/${entry?.id ?? ''}`)
    expect(await shown.json()).toEqual(entry)
    // The owner is on the slice's view and its report too.
    const slices = (await (await fetch(`${fixture.gateway.adminUrl}/admin/slices`)).json()) as { slices: { id: string; owner: unknown }[] }
    expect(slices.slices.find((slice) => slice.id === 'policy-status')?.owner).toEqual({ team: 'policy-team', contact: '#policy-migration' })
    const report = (await (await fetch(`${fixture.gateway.adminUrl}/admin/slices/policy-status/report`)).json()) as { owner: unknown }
    expect(report.owner).toEqual({ team: 'policy-team', contact: '#policy-migration' })
  })

  it('answers a bad filter with 400 or 404 and an unknown id with 404', async () => {
    const base = `${fixture.gateway.adminUrl}/admin/discrepancies`
    expect((await fetch(`${base}?family=noise`)).status).toBe(400)
    expect((await fetch(`${base}?limit=0`)).status).toBe(400)
    expect((await fetch(`${base}?slice=nope`)).status).toBe(404)
    const unknown = await fetch(`${base}/0123456789abcdef`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { code: string }).code).toBe('FICUS_ERR_ADMIN_NOT_FOUND')
    expect((await (await fetch(`${base}?family=translation-defect`)).json()) as { entries: unknown[] }).toMatchObject({ entries: [] })
  })
})

describe('triage on the admin API', () => {
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    send(`${fixture.gateway.adminUrl}/admin${path}`, {
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ana@ops' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    })

  it('moves a signature through investigating to accepted with an expiry, audits every action, and reopens it when the acceptance expires', async () => {
    await send(`${fixture.gateway.url}/policy/P-9/status`, { headers: { 'x-request-id': 'triage-1' } })
    await comparisonOf(fixture.gateway.dataDir, 'triage-1')
    const [entry] = (JSON.parse((await admin('/discrepancies')).body) as { entries: DiscrepancyEntry[] }).entries
    const id = entry!.id
    expect(JSON.parse((await admin(`/discrepancies/${id}`)).body)).toMatchObject({ triage: { state: 'open', expired: false, regression: false } })

    const assigned = await admin(`/discrepancies/${id}/triage`, { method: 'POST', body: { action: 'assign', assignee: 'bo@claims', reason: 'looking' } })
    expect(assigned.status).toBe(200)
    expect(JSON.parse(assigned.body)).toMatchObject({
      action: { action: 'assign', actor: 'ana@ops' },
      discrepancy: { triage: { state: 'investigating', assignee: 'bo@claims' } },
    })
    expect(JSON.parse((await admin('/discrepancies?state=investigating')).body)).toMatchObject({ entries: [{ id }] })
    expect(JSON.parse((await admin('/discrepancies?state=open')).body)).toMatchObject({ entries: [] })

    const expiresAt = new Date(Date.now() + 1_500).toISOString()
    const accepted = await admin(`/discrepancies/${id}/triage`, {
      method: 'POST',
      body: { action: 'accept', approver: 'cy@claims', expiresAt, reason: 'new rounding is intended' },
    })
    expect(JSON.parse(accepted.body)).toMatchObject({ discrepancy: { triage: { state: 'accepted', approver: 'cy@claims', expiresAt } } })
    const reopened = await poll(
      async () => JSON.parse((await admin(`/discrepancies/${id}`)).body) as { triage: { state: string; expired: boolean } },
      (shown) => shown.triage.expired,
    )
    expect(reopened.triage).toMatchObject({ state: 'open', expired: true })

    const history = JSON.parse((await admin(`/discrepancies/${id}/history`)).body) as { entries: { action: string; actor: string; reason: string }[] }
    expect(history.entries.map((record) => record.action)).toEqual(['accept', 'assign'])
    expect(history.entries[0]).toMatchObject({ actor: 'ana@ops', reason: 'new rounding is intended' })

    // Each action is also an event on its own stream (here the JSON lines of the embedded default).
    expect(JSON.parse(accepted.body)).toMatchObject({ event: { published: true } })
    const dir = join(fixture.gateway.dataDir, 'triage-actions')
    const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl'))
    const lines = (await Promise.all(files.map((name) => readFile(join(dir, name), 'utf8')))).join('').trim().split('\n')
    const events = lines.map((line) => JSON.parse(line) as { eventType: string; signature: string; action: string; state: string; slice: string })
    expect(events.filter((event) => event.signature === id)).toEqual([
      expect.objectContaining({ eventType: 'ficus.triage-action', action: 'assign', state: 'investigating', slice: 'policy-status' }),
      expect.objectContaining({ eventType: 'ficus.triage-action', action: 'accept', state: 'accepted' }),
    ])
  })

  it('refuses an action without what it needs, naming the field, and an unknown signature with 404', async () => {
    const [entry] = (JSON.parse((await admin('/discrepancies')).body) as { entries: DiscrepancyEntry[] }).entries
    const id = entry!.id
    const cases: [unknown, string][] = [
      [{ action: 'assign', reason: 'r' }, 'assignee: is required to assign'],
      [{ action: 'accept', reason: 'r', approver: 'cy' }, 'expiresAt: is required to accept'],
      [{ action: 'accept', reason: 'r', approver: 'cy', expiresAt: '2001-01-01' }, 'expiresAt: must be in the future'],
      [{ action: 'accept', reason: 'r', approver: 'cy', expiresAt: '2099-02-30' }, 'expiresAt: must be a date YYYY-MM-DD'],
      [{ action: 'accept', reason: 'r', approver: 'cy', expiresAt: '2099-01-01T10:00' }, 'or an ISO 8601 time with its zone'],
      [{ action: 'accept', reason: 'r', approver: 'cy', expiresAt: 'Dec 1 2099' }, 'expiresAt: must be'],
      [{ action: 'mark-legacy-data-defect', reason: 'r' }, 'ticket: is required'],
      [{ action: 'close', reason: 'r' }, 'action: must be one of'],
      [{ action: 'wont-fix' }, 'reason: is required'],
      [{ action: 'wont-fix', reason: 'r', owner: 'x' }, 'owner: unknown field'],
    ]
    for (const [body, message] of cases) {
      const refused = await admin(`/discrepancies/${id}/triage`, { method: 'POST', body })
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect((JSON.parse(refused.body) as { message: string }).message, JSON.stringify(body)).toContain(message)
    }
    expect((await admin('/discrepancies/0123456789abcdef/triage', { method: 'POST', body: { action: 'wont-fix', reason: 'r' } })).status).toBe(404)
    expect((await admin('/discrepancies/0123456789abcdef/history')).status).toBe(404)
  })
})

describe('ficus triage', () => {
  async function ficus(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = ''
    let err = ''
    const sink = (write: (text: string) => void) => new Writable({ write: (chunk: Buffer, _encoding, done) => (write(chunk.toString()), done()) })
    const code = await main(argv, {
      env: { FICUS_ADMIN_URL: fixture.gateway.adminUrl, FICUS_ACTOR: 'dee@ops' },
      stdout: sink((text) => (out += text)),
      stderr: sink((text) => (err += text)) as unknown as NodeJS.WriteStream,
      cwd: process.cwd(),
    })
    return { code, out, err }
  }

  it('lists, shows and acts on signatures from a terminal, in tables or JSON', async () => {
    const listed = await ficus('triage', 'list', '--json')
    expect(listed.code).toBe(0)
    const [entry] = JSON.parse(listed.out) as DiscrepancyEntry[]
    const table = await ficus('triage', 'list', '--slice', 'policy-status')
    expect(table.out).toContain(entry!.id)
    expect(table.out).toMatch(/ID\s+SLICE\s+FAMILY\s+STATE/)

    const marked = await ficus('triage', 'mark-defect', entry!.id, 'legacy-data', '--ticket', 'PAS-123', '--reason', 'legacy keeps a stale price')
    expect(marked).toMatchObject({ code: 0, err: '' })
    expect(marked.out).toContain('legacy-data-defect (mark-legacy-data-defect by dee@ops')
    const shown = await ficus('triage', 'show', entry!.id)
    expect(shown.out).toContain('state: legacy-data-defect')
    expect(shown.out).toContain('ticket PAS-123')
    expect(shown.out).toContain('legacy keeps a stale price')

    const noReason = await ficus('triage', 'wont-fix', entry!.id)
    expect(noReason.code).toBe(2)
    expect(noReason.err).toContain('--reason')
    const noTicket = await ficus('triage', 'mark-defect', entry!.id, 'modern', '--reason', 'r')
    expect(noTicket.code).toBe(2)
    expect(noTicket.err).toContain('--ticket is required')
  })
})
