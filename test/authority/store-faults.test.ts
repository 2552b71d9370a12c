import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startPrivateRedis, startTcpProxy, uniquePrefix, type PrivateRedis, type TcpProxy } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

// Two gateway instances on one Redis of the test's own, which goes back to older data, comes back
// empty, is killed mid-flip, or is swapped for a replica that missed writes. After each, a change
// is in force on both instances within a second, and the audit trail says what happened.
let legacy: TestUpstream
let modern: TestUpstream
let redis: PrivateRedis
let gateways: TestGateway[] = []
let proxies: TcpProxy[] = []

const SLICE = 'policy-status'

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  redis = await startPrivateRedis()
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await redis.destroy()
})
afterEach(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()))
  gateways = []
  await Promise.all(proxies.map((proxy) => proxy.close()))
  proxies = []
})

async function instance(name: string, prefix: string, port = redis.port): Promise<TestGateway> {
  const gateway = await startTestGateway(sampleConfig(legacy.url, modern.url), {
    instance: name,
    env: { REDIS_URL: `redis://127.0.0.1:${port}`, FICUS_REDIS_PREFIX: prefix },
  })
  gateways.push(gateway)
  return gateway
}

/** A flip over the admin API, retried while the store is still reconnecting (503): returns the accepted answer. */
async function flipNow(gateway: TestGateway, authority: string, reason: string): Promise<{ authority: string; version: number; changed: boolean }> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const response = await send(`${gateway.adminUrl}/admin/slices/${SLICE}/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authority, reason }),
    })
    if (response.status === 200) return JSON.parse(response.body) as { authority: string; version: number; changed: boolean }
    if (response.status !== 503 || Date.now() > deadline) throw new Error(`flip answered ${response.status}: ${response.body}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function killSwitch(gateway: TestGateway): Promise<{ changed: { id: string; version: number }[]; unchanged: string[] }> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const response = await send(`${gateway.adminUrl}/admin/kill-switch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'store fault drill' }),
    })
    if (response.status === 200) return JSON.parse(response.body) as { changed: { id: string; version: number }[]; unchanged: string[] }
    if (response.status !== 503 || Date.now() > deadline) throw new Error(`kill switch answered ${response.status}: ${response.body}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Both instances route the slice to `side`: their snapshots and a real request through each. */
async function inForceOnBoth(instances: readonly TestGateway[], authority: 'legacy' | 'modern'): Promise<number> {
  const took = await until(() => instances.every((gateway) => gateway.store.get(SLICE)?.authority === authority), `${authority} on every instance`, {
    timeoutMs: 5_000,
  })
  for (const gateway of instances) expect((await send(`${gateway.url}/policy/P-1/status`)).headers['x-upstream']).toBe(authority)
  return took
}

async function audit(gateway: TestGateway): Promise<{ kind: string; authority: string; version: number; reason: string; actor: string }[]> {
  // While the instance's Redis client reconnects, the trail answers 503: asked again, a while.
  let response = await send(`${gateway.adminUrl}/admin/history?slice=${SLICE}`)
  for (let attempt = 0; response.status === 503 && attempt < 50; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    response = await send(`${gateway.adminUrl}/admin/history?slice=${SLICE}`)
  }
  if (response.status !== 200) return []
  return (JSON.parse(response.body) as { entries: { kind: string; authority: string; version: number; reason: string; actor: string }[] }).entries
}

describe('authority converges after every store fault', () => {
  it('Redis restarted from an older save: the newer state is restored (audited) and a kill switch is in force on both within a second', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    const b = await instance('gw-b', prefix)
    await flipNow(a, 'modern', 'cut-over')
    await inForceOnBoth([a, b], 'modern')
    await redis.save()
    // After the save point: back to legacy, then to modern again — versions 2 and 3 the save never saw.
    await flipNow(b, 'legacy', 'rollback')
    await flipNow(a, 'modern', 'cut-over again')
    await until(() => a.store.get(SLICE)?.version === 3 && b.store.get(SLICE)?.version === 3, 'version 3 on both')

    await redis.restartFromSave()
    const result = await killSwitch(a)
    expect(result.changed).toEqual([{ id: SLICE, version: 4 }])
    expect(await inForceOnBoth([a, b], 'legacy')).toBeLessThan(1_000)
    expect(a.store.get(SLICE)).toMatchObject({ version: 4 })
    expect(b.store.get(SLICE)).toMatchObject({ version: 4 })
    const entries = await audit(b)
    expect(entries[0]).toMatchObject({ kind: 'kill-switch', authority: 'legacy', version: 4 })
    expect(
      entries.some(
        (entry) => entry.kind === 'restore' && entry.version === 3 && entry.actor === 'ficus' && /store held version 1 \(modern\)/.test(entry.reason),
      ),
    ).toBe(true)
  })

  it('Redis restarted empty: re-seeded from the instances (audited), then a kill switch is in force on both within a second', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    const b = await instance('gw-b', prefix)
    await flipNow(a, 'modern', 'cut-over')
    await inForceOnBoth([a, b], 'modern')

    await redis.restartEmpty()
    await until(async () => (await audit(a)).some((entry) => entry.kind === 'reseed'), 'the re-seed in the audit trail')
    await killSwitch(b)
    expect(await inForceOnBoth([a, b], 'legacy')).toBeLessThan(1_000)
  })

  it('Redis killed during a flip: whatever the store kept, the next kill switch is in force on both within a second', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    const b = await instance('gw-b', prefix)
    await flipNow(a, 'modern', 'cut-over')
    await inForceOnBoth([a, b], 'modern')

    const inFlight = send(`${a.adminUrl}/admin/slices/${SLICE}/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authority: '50%', reason: 'half' }),
    })
    await redis.kill()
    const answer = await inFlight
    expect([200, 503]).toContain(answer.status)
    await redis.start()
    await killSwitch(b)
    expect(await inForceOnBoth([a, b], 'legacy')).toBeLessThan(1_000)
    expect(a.store.get(SLICE)?.version).toBe(b.store.get(SLICE)?.version)
  })

  it('a replica that missed writes takes over behind open connections: a change is still in force everywhere, and the gap is repaired', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    const b = await instance('gw-b', prefix)
    await flipNow(a, 'modern', 'cut-over')
    const direct = new Redis(redis.port, '127.0.0.1')
    try {
      const older = await direct.hget(`${prefix}authority`, SLICE)
      await flipNow(a, 'legacy', 'rollback')
      await flipNow(b, 'modern', 'again')
      await inForceOnBoth([a, b], 'modern')
      // The store goes back to version 1 without a reconnect (no instance resyncs on its own yet), as
      // a promoted replica holds it: written by the old primary, another Redis run.
      await direct.hset(`${prefix}authority`, SLICE, JSON.stringify({ ...(JSON.parse(older ?? '{}') as object), runId: 'the-old-primary' }))
      const result = await killSwitch(b)
      // The new version is above what the instances held (3), never a version they already have.
      expect(result.changed).toEqual([{ id: SLICE, version: 4 }])
      expect(await inForceOnBoth([a, b], 'legacy')).toBeLessThan(1_000)
    } finally {
      direct.disconnect()
    }
  })

  it('an instance cut off during a restart re-seeds its stale state first: the newer one wins, and both converge', async () => {
    const prefix = uniquePrefix()
    const proxyA = await startTcpProxy(redis.port)
    const proxyB = await startTcpProxy(redis.port)
    proxies.push(proxyA, proxyB)
    const a = await instance('gw-a', prefix, proxyA.port)
    const b = await instance('gw-b', prefix, proxyB.port)
    await flipNow(a, 'modern', 'cut-over')
    await inForceOnBoth([a, b], 'modern')

    proxyA.cut()
    await until(() => !a.store.status().connected, 'gw-a to notice the partition')
    await flipNow(b, 'legacy', 'rollback while gw-a is away')
    proxyB.cut()
    await redis.restartEmpty()
    // gw-a comes back first, with version 1 (modern): it seeds the empty store with its stale state.
    proxyA.restore()
    await until(async () => (await audit(a)).some((entry) => entry.kind === 'reseed'), 'gw-a to re-seed')
    // gw-b comes back with version 2 (legacy): the newer state wins, and gw-a follows.
    proxyB.restore()
    await inForceOnBoth([a, b], 'legacy')
    expect(a.store.get(SLICE)?.version).toBe(2)
    const entries = await audit(a)
    expect(entries[0]).toMatchObject({ kind: 'restore', authority: 'legacy', version: 2, actor: 'ficus' })
    expect(entries[0]?.reason).toContain('the store held version 1 (modern)')

    await flipNow(a, 'modern', 'cut-over after the repair')
    expect(await inForceOnBoth([a, b], 'modern')).toBeLessThan(1_000)
  })

  it('a change accepted after Redis came back empty is never undone by an instance that kept an older, higher version', async () => {
    const prefix = uniquePrefix()
    const proxyA = await startTcpProxy(redis.port)
    proxies.push(proxyA)
    const a = await instance('gw-a', prefix, proxyA.port)
    await flipNow(a, 'modern', 'cut-over')
    await flipNow(a, '50%', 'half')
    await flipNow(a, 'modern', 'all')
    proxyA.cut()
    await until(() => !a.store.status().connected, 'gw-a to notice the partition')
    await redis.restartEmpty()
    // A new instance (a fresh pod) on the empty store: its kill switch is the newest decision.
    const fresh = await instance('gw-fresh', prefix)
    await flipNow(fresh, '50%', 'half again')
    const result = await killSwitch(fresh)
    expect(result.changed.map((slice) => slice.id)).toEqual([SLICE])
    // gw-a comes back holding version 3 (modern), made before the store lost its data.
    proxyA.restore()
    await inForceOnBoth([a, fresh], 'legacy')
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(a.store.get(SLICE)?.authority).toBe('legacy')
    expect(fresh.store.get(SLICE)?.authority).toBe('legacy')
    expect((await audit(fresh)).some((entry) => entry.kind === 'restore' || entry.kind === 'reseed')).toBe(false)
  })

  it('a kill switch on a store that lost the slice pins legacy there, so a returning instance cannot bring modern back', async () => {
    const prefix = uniquePrefix()
    const proxyA = await startTcpProxy(redis.port)
    proxies.push(proxyA)
    const a = await instance('gw-a', prefix, proxyA.port)
    await flipNow(a, 'modern', 'cut-over')
    proxyA.cut()
    await until(() => !a.store.status().connected, 'gw-a to notice the partition')
    await redis.restartEmpty()
    const fresh = await instance('gw-fresh', prefix)
    // The fresh instance holds the config's legacy; the store nothing: nothing changes, but legacy is pinned.
    const result = await killSwitch(fresh)
    expect(result).toEqual({ changed: [], unchanged: [SLICE] })
    proxyA.restore()
    await inForceOnBoth([a, fresh], 'legacy')
  })

  it('a flip Redis runs only after the gateway gave up on it (Redis frozen) expires there instead of landing later', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    await flipNow(a, 'modern', 'cut-over')
    redis.freeze()
    try {
      const started = Date.now()
      const answer = await send(`${a.adminUrl}/admin/slices/${SLICE}/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authority: 'legacy', reason: 'while frozen' }),
      })
      expect(answer.status).toBe(503)
      expect(Date.now() - started).toBeLessThan(1_800)
    } finally {
      redis.thaw()
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(a.store.get(SLICE)).toMatchObject({ authority: 'modern', version: 1 })
    const direct = new Redis(redis.port, '127.0.0.1')
    try {
      expect(JSON.parse((await direct.hget(`${prefix}authority`, SLICE)) ?? '{}')).toMatchObject({ authority: 'modern', version: 1 })
    } finally {
      direct.disconnect()
    }
  })

  it('a flip to the value a slice already has changes nothing and says so', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', prefix)
    const first = await flipNow(a, 'modern', 'cut-over')
    expect(first).toMatchObject({ authority: 'modern', version: 1, changed: true })
    const again = await flipNow(a, 'modern', 'cut-over, twice')
    expect(again).toMatchObject({ authority: 'modern', version: 1, changed: false })
    expect((again as unknown as { message: string }).message).toBe(`slice ${SLICE} already has authority modern; nothing changed`)
    expect((await audit(a)).length).toBe(1)
  })
})
