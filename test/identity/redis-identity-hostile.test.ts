import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { IdentityMaps, MAX_LOOKUPS_IN_FLIGHT } from '../../src/identity/identity-maps.ts'
import { redisKey } from '../../src/identity/redis-identity-store.ts'
import { PERMISSIVE_READINESS } from '../helpers/gateway.ts'
import { runFicus } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.ts'

function mapsConfig(map: Record<string, unknown>): GatewayConfigInput {
  return {
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: 'http://127.0.0.1:9' }, modern: { url: 'http://127.0.0.1:9' } },
    identityMaps: { 'policy-ids': map },
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path: '/policy/:polNo', rewrite: { modern: '/policies/:polNo' }, ids: [{ param: 'polNo', map: 'policy-ids' }] }],
        shadow: {},
      },
    },
    readiness: PERMISSIVE_READINESS,
  }
}

async function hgetCalls(url: string): Promise<number> {
  const client = new Redis(url)
  const info = await client.info('commandstats')
  client.disconnect()
  return Number(/cmdstat_hget:calls=(\d+)/.exec(info)?.[1] ?? 0)
}

describe('a frozen Redis behind an identity map', () => {
  let redis: PrivateRedis
  const prefix = uniquePrefix()
  beforeAll(async () => {
    redis = await startPrivateRedis()
  })
  afterAll(async () => {
    redis.thaw()
    await redis?.destroy()
  })

  it('bounds the lookups left waiting on a frozen Redis: a flood answers unavailable in time, and little is replayed at the thaw', async () => {
    const maps = await IdentityMaps.open({
      configs: validateConfig(mapsConfig({ redis: true, lookupTimeoutMs: 20 })).identityMaps,
      redis: { url: redis.url, prefix },
    })
    try {
      const before = await hgetCalls(redis.url)
      redis.freeze()
      const N = 20_000
      const started = performance.now()
      // A flood of distinct (uncacheable) ids while Redis is frozen: every one answers `unavailable` in time...
      const results = await Promise.all(Array.from({ length: N }, (_, i) => maps.lookup('policy-ids', 'to-modern', `P-${i}-${'x'.repeat(200)}`)))
      expect(results.every((r) => r.kind === 'unavailable')).toBe(true)
      expect(performance.now() - started).toBeLessThan(5_000)
      redis.thaw()
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const replayed = (await hgetCalls(redis.url)) - before
      // ...and at most MAX_LOOKUPS_IN_FLIGHT of them were ever sent to it.
      expect(replayed).toBeLessThanOrEqual(MAX_LOOKUPS_IN_FLIGHT)
    } finally {
      redis.thaw()
      await maps.close()
    }
  })
})

describe('hostile data and ids against a Redis map', () => {
  const prefix = uniquePrefix()
  let maps: IdentityMaps
  let client: Redis
  beforeAll(async () => {
    client = new Redis(REDIS_URL)
    maps = await IdentityMaps.open({
      configs: validateConfig(mapsConfig({ redis: true, lookupTimeoutMs: 100, cache: { entries: 3 } })).identityMaps,
      redis: { url: REDIS_URL, prefix },
    })
  })
  afterAll(async () => {
    await maps.close()
    client.disconnect()
    await dropPrefix(prefix)
  })

  it('treats a stored id with CRLF as a mapping that cannot be used: missing, cached, never "retry"', async () => {
    await client.hset(redisKey(prefix, 'policy-ids', 'to-modern'), 'P-crlf', 'n\r\nx-evil: 1')
    const before = await hgetCalls(REDIS_URL)
    const first = await maps.lookup('policy-ids', 'to-modern', 'P-crlf')
    const second = await maps.lookup('policy-ids', 'to-modern', 'P-crlf')
    expect(first).toEqual({ kind: 'missing', reason: 'the mapped id contains a control character' })
    expect(second).toEqual({ kind: 'missing' })
    expect((await hgetCalls(REDIS_URL)) - before).toBe(1)
  })

  it('never sends an id longer than any map may hold to Redis, nor lets it take a cache entry', async () => {
    await client.hset(redisKey(prefix, 'policy-ids', 'to-modern'), 'P-1', 'n-1')
    expect(await maps.lookup('policy-ids', 'to-modern', 'P-1')).toEqual({ kind: 'found', id: 'n-1' })
    const before = await hgetCalls(REDIS_URL)
    for (let i = 0; i < 3; i++) await maps.lookup('policy-ids', 'to-modern', `${i}${'x'.repeat(10_000)}`)
    const calls = (await hgetCalls(REDIS_URL)) - before
    expect(calls).toBe(0)
    // The found entry is still cached: P-1 does not go to Redis again.
    await maps.lookup('policy-ids', 'to-modern', 'P-1')
    expect((await hgetCalls(REDIS_URL)) - before).toBe(0)
  })
})

describe('ficus ids import at scale', () => {
  const prefix = uniquePrefix()
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-ids-scale-'))
    const lines = ['legacy,modern']
    for (let i = 0; i < 100_000; i++) lines.push(`P-${i}-${'a'.repeat(100)},n-${i}-${'b'.repeat(100)}`)
    await writeFile(join(dir, 'big.csv'), `${lines.join('\n')}\n`)
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
    await dropPrefix(prefix)
  })

  it('imports 100 000 pairs into Redis, not bound by the request-path lookup timeout (lookupTimeoutMs: 5)', async () => {
    await writeFile(join(dir, 'r.config.ts'), `export default ${JSON.stringify(mapsConfig({ redis: true, lookupTimeoutMs: 5 }))}\n`)
    const env = { REDIS_URL, FICUS_REDIS_PREFIX: prefix, FICUS_CONFIG: join(dir, 'r.config.ts') }
    const imported = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'big.csv')], env)
    const client = new Redis(REDIS_URL)
    const written = await client.hlen(redisKey(prefix, 'policy-ids', 'to-modern'))
    client.disconnect()
    expect(imported.code).toBe(0)
    expect(written).toBe(100_000)
  })

  it('keeps lines apart when an import appends to a file map that does not end in a newline', async () => {
    await writeFile(join(dir, 'hand.csv'), 'legacy,modern\nP-1,n-1') // hand-edited, no final newline
    await writeFile(join(dir, 'more.csv'), 'legacy,modern\nP-2,n-2\n')
    await writeFile(join(dir, 'h.config.ts'), `export default ${JSON.stringify(mapsConfig({ file: join(dir, 'hand.csv') }))}\n`)
    const env = { FICUS_CONFIG: join(dir, 'h.config.ts') }
    const imported = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'more.csv')], env)
    expect(imported.code).toBe(0)
    expect(await readFile(join(dir, 'hand.csv'), 'utf8')).toBe('legacy,modern\nP-1,n-1\nP-2,n-2\n')
    const found = await runFicus(['ids', 'lookup', 'policy-ids', 'P-1'], env)
    expect(found.stdout).toBe('n-1\n')
  })

  it('reads a JSON-lines file that starts with a byte-order mark', async () => {
    await writeFile(join(dir, 'bom.jsonl'), '\uFEFF{"legacy":"P-9","modern":"n-9"}\n')
    await writeFile(join(dir, 'j.config.ts'), `export default ${JSON.stringify(mapsConfig({ file: join(dir, 'jmap.jsonl') }))}\n`)
    const imported = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'bom.jsonl')], { FICUS_CONFIG: join(dir, 'j.config.ts') })
    expect(imported.code).toBe(0)
  })
})
