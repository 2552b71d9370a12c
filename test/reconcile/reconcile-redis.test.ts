import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/observability/logger.ts'
import { RedisDiscrepancyRegister } from '../../src/register/redis-discrepancy-register.ts'
import type { RunSummary } from '../../src/reconcile/run-summary.ts'
import { readComparisons } from '../helpers/comparisons.ts'
import { countingUpstream, ficus, keyList, reconcileConfig, workspace, type CountingUpstream, type Workspace } from '../helpers/reconcile.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'

// With REDIS_URL, a run reads the slice's authority from the shared store (read only) and feeds the
// shared discrepancy register, as a gateway of the deployment does.

let legacy: CountingUpstream
let modern: CountingUpstream
let ws: Workspace
const prefix = uniquePrefix()

beforeAll(async () => {
  legacy = await countingUpstream('legacy')
  modern = await countingUpstream('modern', (key) => (key.endsWith('3') ? { status: 200, body: { id: key, status: 'lapsed' } } : undefined))
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await dropPrefix(prefix)
})
afterEach(async () => {
  await ws?.remove()
})

describe('a reconciliation run with Redis', () => {
  it('routes by the authority Redis holds, writes nothing there but the register, and feeds the register its disagreements', async () => {
    ws = await workspace()
    await ws.writeConfig(reconcileConfig(legacy.url, modern.url))
    const redis = new Redis(REDIS_URL)
    const state = { authority: 'modern', version: 7, updatedAt: new Date().toISOString(), actor: 'a', reason: 'r', instance: 'i', changeId: 'change-7' }
    await redis.hset(`${prefix}authority`, 'policy-status', JSON.stringify(state))
    const file = await ws.write('keys.txt', keyList(20).join('\n'))
    const run = await ficus(
      ['reconcile', 'policy-status', '--keys', file, '--rate', '500', '--json', '--run-id', 'redis-1', '--min-agreement', '0'],
      ws.env({ REDIS_URL, FICUS_REDIS_PREFIX: prefix }),
    )
    expect(run.code, run.stderr).toBe(0)
    const summary = JSON.parse(run.stdout) as RunSummary
    expect(summary.families).toEqual({ match: 18, 'genuine-conflict': 2 })
    const { records } = await readComparisons(ws.dataDir, 'comparisons-reconcile.jsonl')
    for (const record of records)
      expect(record).toMatchObject({ authority: 'modern', flagVersion: 7, authorityChangeId: 'change-7', primary: { side: 'modern' } })
    // The authority hash is as it was: a run never repairs or seeds the store.
    expect(await redis.hgetall(`${prefix}authority`)).toEqual({ 'policy-status': JSON.stringify(state) })
    redis.disconnect()
    const register = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix, logger: createLogger({ level: 'silent' }) })
    await register.open()
    try {
      const entries = await register.list({ slice: 'policy-status', limit: 10 })
      expect(entries.reduce((sum, entry) => sum + entry.count, 0)).toBe(2)
    } finally {
      await register.close()
    }
  })
})
