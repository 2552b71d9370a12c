import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { IdentityMaps } from '../../src/identity/identity-maps.ts'
import { redisKey } from '../../src/identity/redis-identity-store.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { PERMISSIVE_READINESS, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { until } from '../helpers/wait.ts'
import { runFicus } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

function mapsConfig(extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: 'http://127.0.0.1:9' }, modern: { url: 'http://127.0.0.1:9' } },
    identityMaps: { 'policy-ids': { redis: true, lookupTimeoutMs: 100, cache: { entries: 2, ttlMs: 60_000, missTtlMs: 60_000 } } },
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path: '/policy/:polNo', rewrite: { modern: '/policies/:polNo' }, ids: [{ param: 'polNo', map: 'policy-ids' }] }],
        shadow: {},
      },
    },
    readiness: PERMISSIVE_READINESS,
    ...extra,
  }
}

describe('an identity map in Redis', () => {
  const prefix = uniquePrefix()
  let maps: IdentityMaps
  let redis: Redis
  beforeAll(async () => {
    redis = new Redis(REDIS_URL)
    maps = await IdentityMaps.open({ configs: validateConfig(mapsConfig()).identityMaps, redis: { url: REDIS_URL, prefix } })
  })
  afterAll(async () => {
    await maps.close()
    redis.disconnect()
    await dropPrefix(prefix)
  })

  it('adds pairs one-to-one and refuses a pair that would map an id twice', async () => {
    const store = maps.store('policy-ids')
    const first = await store.add([
      { legacy: 'P-1', modern: 'n-1' },
      { legacy: 'P-2', modern: 'n-2' },
    ])
    expect(first).toEqual({ added: 2, unchanged: 0, conflicts: [] })
    const second = await store.add([
      { legacy: 'P-1', modern: 'n-1' },
      { legacy: 'P-1', modern: 'n-9' },
      { legacy: 'P-3', modern: 'n-2' },
    ])
    expect(second.added).toBe(0)
    expect(second.unchanged).toBe(1)
    expect(second.conflicts).toEqual([
      { pair: { legacy: 'P-1', modern: 'n-9' }, existing: { legacy: 'P-1', modern: 'n-1' } },
      { pair: { legacy: 'P-3', modern: 'n-2' }, existing: { legacy: 'P-2', modern: 'n-2' } },
    ])
    expect(await store.count()).toBe(2)
    expect(await maps.lookup('policy-ids', 'to-legacy', 'n-2')).toEqual({ kind: 'found', id: 'P-2' })
  })

  it('sees pairs the creating systems write live, and caches found ids and misses within their bound', async () => {
    expect(await maps.lookup('policy-ids', 'to-modern', 'P-50')).toEqual({ kind: 'missing' })
    // A creating system writes the pair: the cached miss stands until its lifetime ends (60 s here)...
    await redis.hset(redisKey(prefix, 'policy-ids', 'to-modern'), 'P-50', 'n-50')
    expect(await maps.lookup('policy-ids', 'to-modern', 'P-50')).toEqual({ kind: 'missing' })
    // ... and a map with a cache of two entries has forgotten it after two other lookups.
    await maps.lookup('policy-ids', 'to-modern', 'P-1')
    await maps.lookup('policy-ids', 'to-modern', 'P-2')
    expect(await maps.lookup('policy-ids', 'to-modern', 'P-50')).toEqual({ kind: 'found', id: 'n-50' })
  })

  it('never uses a mapped id with control characters (it would go into a header or a path)', async () => {
    await redis.hset(redisKey(prefix, 'policy-ids', 'to-modern'), 'P-bad', 'n\r\nx-evil: 1')
    expect(await maps.lookup('policy-ids', 'to-modern', 'P-bad')).toMatchObject({ kind: 'missing', reason: 'the mapped id contains a control character' })
  })
})

describe('a frozen or killed Redis behind an identity map', () => {
  let redis: PrivateRedis
  let legacy: TestUpstream
  let modern: TestUpstream
  let gateway: TestGateway
  const prefix = uniquePrefix()
  beforeAll(async () => {
    redis = await startPrivateRedis()
    legacy = await startUpstream('legacy')
    modern = await startUpstream('modern')
    const config = mapsConfig({ upstreams: { legacy: { url: legacy.url }, modern: { url: modern.url } } })
    gateway = await startTestGateway(config, { env: { REDIS_URL: redis.url, FICUS_REDIS_PREFIX: prefix, FICUS_HASH_SALT: 'salt' } })
    const client = new Redis(redis.url)
    await client.hset(redisKey(prefix, 'policy-ids', 'to-modern'), 'P-1', 'n-1')
    client.disconnect()
  })
  afterAll(async () => {
    redis.thaw()
    await gateway?.stop()
    await legacy?.close()
    await modern?.close()
    await redis?.destroy()
  })

  it('answers within the lookup bound: the shadow is not-compared, a modern-authority request a 503', async () => {
    redis.freeze()
    try {
      const started = performance.now()
      const shadowed = await send(`${gateway.url}/policy/P-7`)
      expect(shadowed.status).toBe(200)
      expect(performance.now() - started).toBeLessThan(2_000)
      const record = await comparisonOf(gateway.dataDir, String(shadowed.headers['x-request-id']))
      expect(record).toMatchObject({ family: 'not-compared', cause: 'identity-unavailable' })
    } finally {
      redis.thaw()
    }
    await flip(gateway.store, 'policy-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    redis.freeze()
    try {
      const started = performance.now()
      const refused = await send(`${gateway.url}/policy/P-8`)
      expect(performance.now() - started).toBeLessThan(2_000)
      expect(refused.status).toBe(503)
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'FICUS_ERR_IDENTITY_UNAVAILABLE' })
      expect(modern.requests).toEqual([])
    } finally {
      redis.thaw()
    }
    await flip(gateway.store, 'policy-status', { authority: 'legacy', actor: 'test', reason: 'back' })
  })

  it('maps again once Redis is back', async () => {
    await redis.kill()
    const down = await send(`${gateway.url}/policy/P-1`)
    expect([200, 503]).toContain(down.status)
    await redis.start()
    // The shadow of a request after Redis is back reaches modern with the mapped id.
    await until(async () => {
      await send(`${gateway.url}/policy/P-1`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      return modern.requests.some((request) => request.url === '/policies/n-1')
    }, 'a shadow call with the mapped id')
  })
})

describe('ficus ids', () => {
  const prefix = uniquePrefix()
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-ids-cli-'))
    await writeFile(join(dir, 'ids.config.ts'), `export default ${JSON.stringify(mapsConfig())}\n`)
    await writeFile(join(dir, 'pairs.csv'), 'legacy,modern\nP-1,n-1\n"P,2",n-2\n')
    await writeFile(join(dir, 'clash.jsonl'), '{"legacy":"P-3","modern":"n-1"}\n{"legacy":"P-4","modern":"n-4"}\n')
    await writeFile(join(dir, 'bad.csv'), 'legacy,modern\nP-5,\n{oops\nP-6,n-6\n')
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
    await dropPrefix(prefix)
  })
  const env = (): NodeJS.ProcessEnv => ({ REDIS_URL, FICUS_REDIS_PREFIX: prefix, FICUS_CONFIG: join(dir, 'ids.config.ts') })

  it('imports, looks up both ways and counts; refuses clashes and bad lines with their line numbers', async () => {
    const imported = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'pairs.csv')], env())
    expect(imported.stdout).toContain('policy-ids: 2 added, 0 already there, 0 refused')
    expect(imported.code).toBe(0)
    const found = await runFicus(['ids', 'lookup', 'policy-ids', 'P,2'], env())
    expect(found.stdout).toBe('n-2\n')
    const back = await runFicus(['ids', 'lookup', 'policy-ids', 'n-1', '--to', 'legacy', '--json'], env())
    expect(JSON.parse(back.stdout)).toEqual({ map: 'policy-ids', id: 'n-1', to: 'legacy', found: 'P-1' })
    const none = await runFicus(['ids', 'lookup', 'policy-ids', 'P-404'], env())
    expect(none.code).toBe(1)

    const clash = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'clash.jsonl')], env())
    expect(clash.code).toBe(1)
    expect(clash.stdout).toContain('1 added, 0 already there, 1 refused')
    expect(clash.stdout).toContain('refused "P-3" ↔ "n-1": the map has "P-1" ↔ "n-1"')

    const bad = await runFicus(['ids', 'import', 'policy-ids', join(dir, 'bad.csv')], env())
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('FICUS_ERR_IDENTITY_MAP_UNREADABLE')
    expect(bad.stderr).toContain('line 2: the new id is empty')
    expect(bad.stderr).toContain('line 3: the new id is empty')
    const counted = await runFicus(['ids', 'count', '--json'], env())
    expect(JSON.parse(counted.stdout)).toEqual([{ map: 'policy-ids', store: 'redis', pairs: 3 }])
  })

  it('says which map is unknown, and that a Redis map needs REDIS_URL', async () => {
    const unknown = await runFicus(['ids', 'count', 'nope'], env())
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown identity map "nope" (declared: policy-ids)')
    const noRedis = await runFicus(['ids', 'count'], { ...env(), REDIS_URL: '' })
    expect(noRedis.stderr).toContain('REDIS_URL is not set')
  })
})
