import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuthorityChanged } from '../../src/publish/events.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

async function publishedChanges(dataDir: string): Promise<AuthorityChanged[]> {
  const text = await readFile(join(dataDir, 'authority-changes', 'authority-changes.jsonl'), 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuthorityChanged)
}

describe('causation on comparisons', () => {
  const ctx = gatewayWithUpstreams({
    config: (legacy, modern) => {
      const config = sampleConfig(legacy, modern)
      config.slices['policy-status'] = { ...config.slices['policy-status']!, shadow: {} }
      return config
    },
  })

  it('links each comparison to the AuthorityChanged event in force when its request was routed', async () => {
    const before = await send(`${ctx.gateway.url}/policy/P-1/status`)
    expect(await comparisonOf(ctx.gateway.dataDir, String(before.headers['x-request-id']))).toMatchObject({ flagVersion: 0, authorityChangeId: null })

    for (const authority of ['25%', 'modern']) {
      const flipped = await fetch(`${ctx.gateway.adminUrl}/admin/slices/policy-status/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authority, reason: 'rollout step', force: true }),
      })
      expect(flipped.status).toBe(200)
      const response = await send(`${ctx.gateway.url}/policy/P-1/status`)
      const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
      const event = (await publishedChanges(ctx.gateway.dataDir)).at(-1)
      expect(event).toMatchObject({ after: authority, version: record.flagVersion })
      expect(record.authorityChangeId).toBe(event?.eventId)
    }
  })
})
