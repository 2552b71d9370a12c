import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flip, type AuthorityState } from '../../src/authority/authority-store.ts'
import { RedisAuthorityStore } from '../../src/authority/redis-authority-store.ts'
import { capturingLogger } from '../helpers/logs.ts'
import type { FicusError } from '../../src/errors/errors.ts'
import { ficusErrorCode } from '../helpers/errors.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { closedPort } from '../helpers/upstream-server.ts'

const SLICES = [
  { id: 'coverage-status', authority: 'legacy' as const },
  { id: 'billing-eligibility', authority: 'modern' as const },
]

let prefix: string
let dir: string
const stores: RedisAuthorityStore[] = []
let captured: ReturnType<typeof capturingLogger>

beforeEach(async () => {
  prefix = uniquePrefix()
  dir = await mkdtemp(join(tmpdir(), 'ficus-redis-store-'))
  captured = capturingLogger()
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()))
  await dropPrefix(prefix)
  await rm(dir, { recursive: true, force: true })
})

async function open(instance: string, options: { url?: string; cache?: string; resyncIntervalMs?: number } = {}): Promise<RedisAuthorityStore> {
  const store = new RedisAuthorityStore({
    url: options.url ?? REDIS_URL,
    prefix,
    slices: SLICES,
    instance,
    cacheFile: options.cache ?? join(dir, `${instance}-cache.json`),
    logger: captured.logger,
    connectTimeoutMs: 500,
    ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
  })
  stores.push(store)
  await store.open()
  return store
}

function nextChange(store: RedisAuthorityStore): Promise<{ state: AuthorityState; at: number }> {
  return new Promise((resolve) => {
    const off = store.onChange((state) => {
      off()
      resolve({ state, at: performance.now() })
    })
  })
}

describe('redis authority store', () => {
  it('starts from the config, then keeps versions, actor and reason in Redis', async () => {
    const store = await open('gw-a')
    expect(store.status()).toEqual({ kind: 'redis', connected: true, snapshot: 'store' })
    expect(store.get('coverage-status')).toMatchObject({ authority: 'legacy', version: 0 })
    const state = await flip(store, 'coverage-status', { authority: '12.5%', actor: 'ana', reason: 'first customers' })
    expect(state).toMatchObject({ sliceId: 'coverage-status', authority: '12.5%', version: 1, actor: 'ana', reason: 'first customers', instance: 'gw-a' })
    expect((await flip(store, 'coverage-status', { authority: 'modern', actor: 'ana', reason: 'all in' })).version).toBe(2)

    const raw = new Redis(REDIS_URL)
    try {
      expect(JSON.parse((await raw.hget(`${prefix}authority`, 'coverage-status')) ?? '{}')).toMatchObject({ authority: 'modern', version: 2 })
    } finally {
      raw.disconnect()
    }
  })

  it('pushes a change to every other instance’s snapshot well under a second', async () => {
    const a = await open('gw-a')
    const b = await open('gw-b')
    const seen = nextChange(b)
    const started = performance.now()
    await flip(a, 'billing-eligibility', { authority: 'legacy', actor: 'ops', reason: 'billing incident' })
    const { state, at } = await seen
    const delayMs = at - started
    console.info(`authority propagation between two store instances: ${delayMs.toFixed(1)} ms`)
    expect(state).toMatchObject({ sliceId: 'billing-eligibility', authority: 'legacy', version: 1, instance: 'gw-a' })
    expect(b.get('billing-eligibility')?.version).toBe(1)
    expect(delayMs).toBeLessThan(1_000)
  })

  it('lets exactly one of two concurrent compare-and-set flips win; the other gets a conflict', async () => {
    const a = await open('gw-a')
    const b = await open('gw-b')
    const results = await Promise.allSettled([
      flip(a, 'coverage-status', { authority: 'modern', actor: 'ana', reason: 'go', expectedVersion: 0 }),
      flip(b, 'coverage-status', { authority: '50%', actor: 'bo', reason: 'half', expectedVersion: 0 }),
    ])
    const rejected = results.filter((result) => result.status === 'rejected')
    expect(rejected).toHaveLength(1)
    const error = (rejected[0] as PromiseRejectedResult).reason as FicusError
    expect(error.code).toBe('FICUS_ERR_AUTHORITY_CONFLICT')
    expect(error.message).toMatch(/is at version 1, not 0: someone else changed it/)
    expect((await a.history({ limit: 10 })).map((entry) => entry.version)).toEqual([1])
  })

  it('applies a kill switch to all named slices, or to none when one of them conflicts', async () => {
    const store = await open('gw-a')
    await flip(store, 'coverage-status', { authority: '30%', actor: 'a', reason: 'r' })
    const code = await ficusErrorCode(
      store.apply({
        changes: [
          { sliceId: 'coverage-status', authority: 'legacy' },
          { sliceId: 'billing-eligibility', authority: 'legacy', expectedVersion: 7 },
        ],
        actor: 'oncall',
        reason: 'incident',
        kind: 'kill-switch',
      }),
    )
    expect(code).toBe('FICUS_ERR_AUTHORITY_CONFLICT')
    expect(store.get('coverage-status')?.authority).toBe('30%')
    const states = await store.apply({
      changes: [
        { sliceId: 'coverage-status', authority: 'legacy' },
        { sliceId: 'billing-eligibility', authority: 'legacy' },
      ],
      actor: 'oncall',
      reason: 'incident',
      kind: 'kill-switch',
    })
    expect(states.map((state) => [state.sliceId, state.authority, state.version])).toEqual([
      ['coverage-status', 'legacy', 2],
      ['billing-eligibility', 'legacy', 1],
    ])
  })

  it('keeps an audit stream readable newest first and per slice', async () => {
    const store = await open('gw-a')
    await flip(store, 'coverage-status', { authority: '10%', actor: 'ana', reason: 'one' })
    await flip(store, 'billing-eligibility', { authority: 'legacy', actor: 'bo', reason: 'two' })
    await flip(store, 'coverage-status', { authority: '20%', actor: 'ana', reason: 'three' })
    const all = await store.history({ limit: 10 })
    expect(all.map((e) => [e.slice, e.previous, e.authority, e.version, e.actor, e.reason, e.kind, e.instance])).toEqual([
      ['coverage-status', '10%', '20%', 2, 'ana', 'three', 'flip', 'gw-a'],
      ['billing-eligibility', 'modern', 'legacy', 1, 'bo', 'two', 'flip', 'gw-a'],
      ['coverage-status', 'legacy', '10%', 1, 'ana', 'one', 'flip', 'gw-a'],
    ])
    expect(all[0]?.id).toMatch(/^\d+-\d+$/)
    expect(all[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect((await store.history({ slice: 'coverage-status', limit: 1 })).map((e) => e.reason)).toEqual(['three'])
  })

  it('starts on the config when Redis is unreachable, says so loudly, and refuses changes', async () => {
    const port = await closedPort()
    const started = performance.now()
    const store = await open('gw-a', { url: `redis://127.0.0.1:${port}` })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(store.status()).toEqual({ kind: 'redis', connected: false, snapshot: 'config' })
    expect(store.get('billing-eligibility')?.authority).toBe('modern')
    expect(captured.lines.some((line) => line.level === 50 && String(line.msg).startsWith('authority store unreachable at start'))).toBe(true)
    expect(await ficusErrorCode(flip(store, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' }))).toBe('FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE')
    expect(await ficusErrorCode(store.history({ limit: 5 }))).toBe('FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE')
    expect(store.get('coverage-status')?.version).toBe(0)
  })

  it('starts on its cached snapshot when Redis is unreachable', async () => {
    const cache = join(dir, 'cache.json')
    const online = await open('gw-a', { cache })
    await flip(online, 'coverage-status', { authority: '40%', actor: 'a', reason: 'r' })
    await online.close()
    expect(JSON.parse(await readFile(cache, 'utf8'))).toMatchObject({ slices: { 'coverage-status': { authority: '40%', version: 1 } } })

    const port = await closedPort()
    const offline = await open('gw-a', { url: `redis://127.0.0.1:${port}`, cache })
    expect(offline.status().snapshot).toBe('cache')
    expect(offline.get('coverage-status')).toMatchObject({ authority: '40%', version: 1 })
  })

  it('re-seeds Redis from its snapshot when Redis lost the data', async () => {
    const a = await open('gw-a')
    await flip(a, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' })
    await a.close()
    await dropPrefix(prefix)
    const again = await open('gw-a', { cache: join(dir, 'gw-a-cache.json') })
    expect(again.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1 })
    const b = await open('gw-b')
    expect(b.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1 })
    expect((await flip(b, 'coverage-status', { authority: 'legacy', actor: 'b', reason: 'r' })).version).toBe(2)
  })

  it('repairs a store that went back to older data behind an open connection, on its periodic resync', async () => {
    const a = await open('gw-a', { resyncIntervalMs: 100 })
    await flip(a, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'cut-over' })
    const direct = new Redis(REDIS_URL)
    try {
      const older = await direct.hget(`${prefix}authority`, 'coverage-status')
      await flip(a, 'coverage-status', { authority: 'legacy', actor: 'a', reason: 'rollback' })
      // As a promoted replica holds it: written by another Redis run (the old primary).
      await direct.hset(`${prefix}authority`, 'coverage-status', JSON.stringify({ ...(JSON.parse(older ?? '{}') as object), runId: 'the-old-primary' }))
      const deadline = Date.now() + 3_000
      let stored: { version: number; authority: string } | undefined
      while (Date.now() < deadline) {
        stored = JSON.parse((await direct.hget(`${prefix}authority`, 'coverage-status')) ?? '{}') as { version: number; authority: string }
        if (stored.version === 2) break
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      expect(stored).toMatchObject({ version: 2, authority: 'legacy' })
      expect(a.get('coverage-status')).toMatchObject({ version: 2, authority: 'legacy' })
      expect((await a.history({ slice: 'coverage-status', limit: 1 }))[0]).toMatchObject({
        kind: 'restore',
        version: 2,
        authority: 'legacy',
        previous: 'modern',
      })
    } finally {
      direct.disconnect()
    }
  })

  it("takes the store's change when it holds another one under the same version", async () => {
    const a = await open('gw-a')
    const b = await open('gw-b')
    await flip(a, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' })
    const direct = new Redis(REDIS_URL)
    try {
      // Another change under version 1, as a store that lost data and took a new write would hold.
      const other = {
        sliceId: 'coverage-status',
        authority: '25%',
        version: 1,
        updatedAt: new Date().toISOString(),
        actor: 'x',
        reason: 'y',
        instance: 'gw-x',
        changeId: 'another-change',
      }
      await direct.hset(`${prefix}authority`, 'coverage-status', JSON.stringify(other))
      await direct.publish(`${prefix}authority-changes`, JSON.stringify([other]))
      const deadline = Date.now() + 2_000
      while (Date.now() < deadline && b.get('coverage-status')?.authority !== '25%') await new Promise((resolve) => setTimeout(resolve, 10))
      expect(a.get('coverage-status')).toMatchObject({ authority: '25%', version: 1, changeId: 'another-change' })
      expect(b.get('coverage-status')).toMatchObject({ authority: '25%', version: 1, changeId: 'another-change' })
    } finally {
      direct.disconnect()
    }
  })
})
