import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryReportStateStore, RedisReportStateStore, type PartitionState, type ReportStateStore } from '../../src/report/reporter/report-state.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'

const prefix = uniquePrefix()
const opened: ReportStateStore[] = []
afterAll(async () => {
  for (const store of opened) await store.close()
  await dropPrefix(prefix)
})

const state = (topic: string, nextOffset: number): PartitionState => ({ topic, partition: 0, nextOffset: String(nextOffset), slices: [] })

// The memory store is the Redis store's stand-in: the same claims, fencing and window.
describe.each([
  ['memory', () => new MemoryReportStateStore()],
  ['redis', () => new RedisReportStateStore(REDIS_URL, prefix, { queueWhileOffline: true })],
])('the %s report state store', (_name, open: () => ReportStateStore) => {
  it('applies a write only under the latest claim and never moves the offset back', async () => {
    const store = open()
    opened.push(store)
    const topic = `t-${randomUUID()}`
    const a = await store.claim(topic, 0, 'member-a')
    expect(a).toEqual({ epoch: 1, state: undefined, recentIds: [] })
    expect(await store.save({ state: state(topic, 3), epoch: a.epoch, newIds: ['e1', 'e2', 'e3'], window: 4 })).toEqual({ saved: true })
    // B takes the partition over: it gets A's state and ids under a later epoch.
    const b = await store.claim(topic, 0, 'member-b')
    expect(b).toMatchObject({ epoch: 2, state: { nextOffset: '3' }, recentIds: ['e1', 'e2', 'e3'] })
    // A, stale, writes forward: refused all the same, nothing applied.
    expect(await store.save({ state: state(topic, 9), epoch: a.epoch, newIds: ['e9'], window: 4 })).toEqual({
      saved: false,
      reason: 'claimed',
      epoch: 2,
      nextOffset: '3',
      owner: 'member-b',
    })
    expect((await store.load(topic, 0))?.nextOffset).toBe('3')
    // B's own writes go forward; the window keeps the latest four ids.
    expect(await store.save({ state: state(topic, 5), epoch: b.epoch, newIds: ['e4', 'e5'], window: 4 })).toEqual({ saved: true })
    expect(await store.save({ state: state(topic, 4), epoch: b.epoch, newIds: [], window: 4 })).toMatchObject({
      saved: false,
      reason: 'behind',
      nextOffset: '5',
    })
    expect(await store.save({ state: state(topic, 5), epoch: b.epoch, newIds: [], window: 4 })).toEqual({ saved: true })
    expect((await store.claim(topic, 0, 'member-a')).recentIds).toEqual(['e2', 'e3', 'e4', 'e5'])
    expect((await store.all(topic)).map((saved) => saved.nextOffset)).toEqual(['5'])
  })
})

describe('the Redis report state store', () => {
  it('takes up a state saved before fencing at its offset', async () => {
    const store = new RedisReportStateStore(REDIS_URL, prefix, { queueWhileOffline: true })
    opened.push(store)
    const topic = `t-${randomUUID()}`
    const redis = new Redis(REDIS_URL)
    try {
      await redis.set(`${prefix}report:${topic}:0`, JSON.stringify(state(topic, 7)))
    } finally {
      redis.disconnect()
    }
    const claim = await store.claim(topic, 0, 'member-a')
    expect(claim).toMatchObject({ epoch: 1, state: { nextOffset: '7' }, recentIds: [] })
    expect(await store.save({ state: state(topic, 6), epoch: claim.epoch, newIds: [], window: 4 })).toMatchObject({ saved: false, reason: 'behind' })
    expect(await store.save({ state: state(topic, 8), epoch: claim.epoch, newIds: ['e8'], window: 4 })).toEqual({ saved: true })
  })
})
