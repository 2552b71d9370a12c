import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { BACKLOG_CACHE_MS } from '../../src/admin/discrepancy-routes.ts'
import type { BacklogRow } from '../../src/admin/triage-backlog.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { poll } from '../helpers/wait.ts'

// Both sides answer every entity alike but for one field named after it (`P-7` → `f7`): one
// signature per entity, so that the register holds more of them than one page of the list.
const differing =
  (value: number) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    const n = /-(\d+)/.exec(request.url ?? '')?.[1] ?? 'x'
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: 'ACTIVE', [`f${n}`]: value }))
  }

const fixture = gatewayWithUpstreams({
  legacy: differing(1),
  modern: differing(2),
  config: (legacyUrl, modernUrl) => {
    const config = sampleConfig(legacyUrl, modernUrl)
    config.slices['policy-status']!.shadow = {}
    config.slices['policy-status']!.owner = { team: 'policy-team', contact: '#policy' }
    config.slices['claim-lodgement'] = {
      description: 'May this claim be lodged?',
      authority: 'legacy',
      shadow: {},
      routes: [{ method: 'GET', path: '/claims/:id' }],
    }
    return config
  },
})

interface Backlog {
  at: string
  register: { signatures: number }
  rows: BacklogRow[]
}

const admin = async (path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
  const response = await send(`${fixture.gateway.adminUrl}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ana@ops' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, json: JSON.parse(response.body) as unknown }
}
const backlog = async (query = ''): Promise<Backlog> => (await admin(`/discrepancies/backlog${query}`)).json as Backlog

describe('GET /admin/discrepancies/backlog', () => {
  it('counts the whole register per slice and family, each triage state apart, expired acceptances as open, and names the oldest open item', async () => {
    const POLICIES = 60
    for (let n = 0; n < POLICIES; n++) await send(`${fixture.gateway.url}/policy/P-${n}/status`, { headers: { 'x-request-id': `bl-P-${n}` } })
    await send(`${fixture.gateway.url}/policy/P-0/status`, { headers: { 'x-request-id': 'bl-P-0-again' } })
    await send(`${fixture.gateway.url}/claims/C-1`, { headers: { 'x-request-id': 'bl-C-1' } })
    const recorded = await poll(backlog, (seen) => seen.register.signatures === POLICIES + 1)
    expect(recorded.register.signatures).toBe(POLICIES + 1)

    const listed = (await admin('/discrepancies?limit=1000')).json as { entries: DiscrepancyEntry[] }
    const idOf = (requestId: string): string => listed.entries.find((entry) => entry.examples.includes(requestId))!.id
    const act = async (n: number, body: Record<string, string>): Promise<void> =>
      expect((await admin(`/discrepancies/${idOf(`bl-P-${n}`)}/triage`, { reason: 'triaged in a test', ...body })).status).toBe(200)
    await act(0, { action: 'accept', approver: 'cy@ops', expiresAt: '2099-12-31' })
    await act(1, { action: 'accept', approver: 'cy@ops', expiresAt: new Date(Date.now() + 1_000).toISOString() })
    await act(2, { action: 'expect-fix' })
    await act(3, { action: 'assign', assignee: 'bo@ops' })
    await act(4, { action: 'mark-modern-defect', ticket: 'POL-1' })
    await act(5, { action: 'mark-legacy-data-defect', ticket: 'PAS-2' })
    await act(6, { action: 'wont-fix' })

    // The first reading after the actions may come before the 1 s acceptance expires, and one reading
    // serves the backlog for BACKLOG_CACHE_MS: wait past that, not the default 10 s (the same length).
    const after = await poll(backlog, (seen) => seen.rows[1]?.expired === 1, { timeoutMs: BACKLOG_CACHE_MS + 5_000 })
    expect(after.rows).toEqual([
      {
        slice: 'claim-lodgement',
        family: 'genuine-conflict',
        owner: null,
        signatures: 1,
        comparisons: 1,
        open: 1,
        investigating: 0,
        accepted: 0,
        expired: 0,
        fixExpected: 0,
        regressions: 0,
        modernDefects: 0,
        legacyDataDefects: 0,
        wontFix: 0,
        oldestOpen: { id: idOf('bl-C-1'), firstSeen: expect.any(String) as string, ageMs: expect.any(Number) as number },
      },
      {
        slice: 'policy-status',
        family: 'genuine-conflict',
        owner: 'policy-team',
        signatures: POLICIES,
        comparisons: POLICIES + 1,
        // 53 untriaged, one investigated, one whose acceptance expired.
        open: POLICIES - 7 + 2,
        investigating: 1,
        accepted: 1,
        expired: 1,
        fixExpected: 1,
        regressions: 0,
        modernDefects: 1,
        legacyDataDefects: 1,
        wontFix: 1,
        // P-0 was seen first, but it is accepted: the expired acceptance of P-1 is the oldest open item.
        oldestOpen: { id: idOf('bl-P-1'), firstSeen: expect.any(String) as string, ageMs: expect.any(Number) as number },
      },
    ])
    const oldest = after.rows[1]!.oldestOpen!
    expect(oldest.ageMs).toBe(Date.parse(after.at) - Date.parse(oldest.firstSeen))
    expect(listed.entries.find((entry) => entry.id === oldest.id)?.firstSeen).toBe(oldest.firstSeen)
    // One page of the list holds fewer signatures than the backlog counts.
    expect(((await admin('/discrepancies')).json as { entries: unknown[] }).entries).toHaveLength(50)
  })

  it('filters by slice and family, and refuses a bad filter with 400 or 404', async () => {
    expect((await backlog('?slice=claim-lodgement')).rows.map((row) => row.slice)).toEqual(['claim-lodgement'])
    expect((await backlog('?family=translation-defect')).rows).toEqual([])
    expect((await admin('/discrepancies/backlog?family=noise')).status).toBe(400)
    expect((await admin('/discrepancies/backlog?slice=nope')).status).toBe(404)
  })
})
