import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthorityChanged } from '../../src/publish/events.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

async function authorityEvents(dataDir: string): Promise<AuthorityChanged[]> {
  try {
    const text = await readFile(join(dataDir, 'authority-changes', 'authority-changes.jsonl'), 'utf8')
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuthorityChanged)
  } catch {
    return []
  }
}

describe('authorityChangeId with the Redis store', () => {
  const prefix = uniquePrefix()
  let legacy: TestUpstream, modern: TestUpstream, gateway: TestGateway
  beforeAll(async () => {
    legacy = await startUpstream('legacy')
    modern = await startUpstream('modern')
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status'] = { ...config.slices['policy-status']!, shadow: {} }
    gateway = await startTestGateway(config, { env: { REDIS_URL, FICUS_REDIS_PREFIX: prefix } })
  })
  afterAll(async () => {
    await gateway?.stop()
    await legacy?.close()
    await modern?.close()
    await dropPrefix(prefix)
  })

  it('stays null (no AuthorityChanged exists) after a kill switch that found the slice already on legacy', async () => {
    const killed = await send(`${gateway.adminUrl}/admin/kill-switch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'incident drill' }),
    })
    expect(killed.status).toBe(200)
    expect(JSON.parse(killed.body)).toMatchObject({ changed: [], unchanged: ['policy-status'] })
    const response = await send(`${gateway.url}/policy/P-1/status`)
    const record = await comparisonOf(gateway.dataDir, String(response.headers['x-request-id']))
    const events = await authorityEvents(gateway.dataDir)
    expect(events).toEqual([])
    // docs/comparisons.md: "Null while the config's initial authority holds (no change yet)".
    expect(record).toMatchObject({ flagVersion: 0, authorityChangeId: null })
  })
})
