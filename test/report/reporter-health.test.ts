import { describe, expect, it } from 'vitest'
import { judgeConsumer, type HealthBounds } from '../../src/report/reporter/reporter-health.ts'
import type { ConsumerState } from '../../src/report/reporter/reporter.ts'

const bounds: HealthBounds = { joinMs: 60_000, stallMs: 30_000 }
const T = 1_000_000
const joined: ConsumerState = {
  phase: 'joined',
  since: T,
  memberId: 'm-1',
  assigned: [0, 2],
  lastBatchAt: null,
  lastHeartbeatAt: null,
  crash: null,
  highWatermarks: new Map(),
}
const offsets = (committed: bigint | null) => ({
  at: T,
  partitions: [0, 1, 2].map((partition) => ({ partition, low: 0n, high: 40n, committed })),
})

describe('the reporter consumer health judgement', () => {
  it('is healthy and ready in its group, and shows the lag of its assigned partitions only', () => {
    const verdict = judgeConsumer({ ...joined, lastHeartbeatAt: T + 5_000 }, offsets(30n), T + 6_000, bounds)
    expect(verdict).toMatchObject({ healthy: true, ready: true, problem: null, lag: 20 })
    expect(verdict.partitions).toEqual([
      { partition: 0, position: '30', high: '40', lag: 10 },
      { partition: 2, position: '30', high: '40', lag: 10 },
    ])
  })

  it('is unhealthy when no batch and no heartbeat came for longer than the bound while records wait', () => {
    expect(judgeConsumer({ ...joined, lastBatchAt: T }, offsets(30n), T + 29_000, bounds).healthy).toBe(true)
    const verdict = judgeConsumer({ ...joined, lastBatchAt: T }, offsets(30n), T + 31_000, bounds)
    expect(verdict).toMatchObject({ healthy: false, ready: false, problem: 'no batch and no heartbeat for 31 s while 20 records wait' })
    // Nothing waiting, and heartbeats coming: an idle consumer is not a stalled one.
    expect(judgeConsumer({ ...joined, lastHeartbeatAt: T + 295_000 }, offsets(40n), T + 300_000, bounds).healthy).toBe(true)
  })

  it('is unhealthy when no heartbeat came for longer than the bound with nothing waiting: out of its group without knowing it', () => {
    // A member in its group heartbeats every few seconds, idle or not (every empty fetch). One that
    // stopped (resumed after a freeze, never rejoined) keeps its last assignment, and the lag of
    // those partitions is what their new owner left: 0 while it keeps up.
    const verdict = judgeConsumer({ ...joined, lastHeartbeatAt: T + 5_000 }, offsets(40n), T + 40_000, bounds)
    expect(verdict).toMatchObject({ healthy: false, ready: false, lag: 0, problem: 'no batch and no heartbeat for 35 s: out of its group without knowing it' })
  })

  it('is unhealthy after a crash the client does not restart from, or a stop, and names the cause', () => {
    const crash = { error: new Error('The group coordinator is not available'), restarting: false, at: T }
    expect(judgeConsumer({ ...joined, phase: 'crashed', crash }, offsets(0n), T + 1, bounds)).toMatchObject({
      healthy: false,
      problem: 'the consumer crashed: The group coordinator is not available',
    })
    expect(judgeConsumer({ ...joined, phase: 'stopped', assigned: [] }, offsets(0n), T + 1, bounds)).toMatchObject({
      healthy: false,
      problem: 'the consumer stopped',
    })
  })

  it('gives a crash the client restarts from, a start and a rebalance the join bound, then calls them gone', () => {
    const crash = { error: new Error('Connection error'), restarting: true, at: T }
    const restarting: ConsumerState = { ...joined, phase: 'crashed', assigned: [], crash }
    expect(judgeConsumer(restarting, offsets(0n), T + 59_000, bounds)).toMatchObject({ healthy: true, ready: false })
    expect(judgeConsumer(restarting, offsets(0n), T + 61_000, bounds)).toMatchObject({
      healthy: false,
      problem: 'the consumer has been out of its group for 61 s (last crash: Connection error)',
    })
    expect(judgeConsumer({ ...joined, phase: 'rebalancing', assigned: [] }, undefined, T + 61_000, bounds).healthy).toBe(false)
    expect(judgeConsumer({ ...joined, phase: 'starting', assigned: [] }, undefined, T + 10_000, bounds)).toMatchObject({ healthy: true, ready: false })
  })
})
