import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuthorityChanged, TriageActionEvent } from '../../src/publish/events.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

async function publishedLines<T>(dataDir: string, stream: string): Promise<T[]> {
  const text = await readFile(join(dataDir, stream, `${stream}.jsonl`), 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T)
}

const answer =
  (status: string) => (_request: unknown, response: { writeHead: (code: number, headers: Record<string, string>) => void; end: (body: string) => void }) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status }))
  }

describe('causation and correlation on events', () => {
  const ctx = gatewayWithUpstreams({
    config: (legacy, modern) => {
      const config = sampleConfig(legacy, modern)
      config.slices['policy-status'] = { ...config.slices['policy-status']!, shadow: {} }
      return config
    },
    // The sides disagree: every comparison is a genuine conflict, a signature to triage.
    legacy: answer('in force'),
    modern: answer('lapsed'),
  })

  it('links each comparison to the AuthorityChanged event in force when its request was routed', async () => {
    const before = await send(`${ctx.gateway.url}/policy/P-1/status`)
    expect(await comparisonOf(ctx.gateway.dataDir, String(before.headers['x-request-id']))).toMatchObject({
      flagVersion: 0,
      authorityChangeId: null,
      origin: 'live',
      causationId: null,
    })

    for (const authority of ['25%', 'modern']) {
      const flipped = await fetch(`${ctx.gateway.adminUrl}/admin/slices/policy-status/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authority, reason: 'rollout step', force: true }),
      })
      expect(flipped.status).toBe(200)
      const flipRequest = flipped.headers.get('x-request-id')
      const response = await send(`${ctx.gateway.url}/policy/P-1/status`)
      const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
      const event = (await publishedLines<AuthorityChanged>(ctx.gateway.dataDir, 'authority-changes')).at(-1)
      // The change names the admin request that made it; the comparison names the change it ran under.
      expect(event).toMatchObject({ after: authority, version: record.flagVersion, requestId: flipRequest })
      expect(record.authorityChangeId).toBe(event?.eventId)
    }
  })

  it('names the admin request that recorded a triage action in its event', async () => {
    const listed = (await (await fetch(`${ctx.gateway.adminUrl}/admin/discrepancies?slice=policy-status`)).json()) as { entries: { id: string }[] }
    const [signature] = listed.entries
    expect(signature).toBeDefined()
    const acted = await fetch(`${ctx.gateway.adminUrl}/admin/discrepancies/${signature!.id}/triage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'assign', assignee: 'policy-team', reason: 'look into it' }),
    })
    expect(acted.status).toBe(200)
    const event = (await publishedLines<TriageActionEvent>(ctx.gateway.dataDir, 'triage-actions')).at(-1)
    expect(event).toMatchObject({ signature: signature!.id, action: 'assign', requestId: acted.headers.get('x-request-id') })
    expect(acted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})
