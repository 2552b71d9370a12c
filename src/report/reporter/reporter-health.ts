import type { OffsetsReading } from './consumer-lag.ts'
import type { ConsumerState } from './reporter.ts'

/** When a consumer that reports nothing wrong is still judged gone. */
export interface HealthBounds {
  /** Longest time out of the group (starting, rebalancing, restarting after a crash) before it is a problem. */
  readonly joinMs: number
  /** Longest time in the group without a batch or a heartbeat (an idle member heartbeats every few seconds). */
  readonly stallMs: number
}

/** Three session timeouts to get into the group; three for a stall (the group evicts after one). */
export const DEFAULT_HEALTH_BOUNDS: HealthBounds = { joinMs: 60_000, stallMs: 30_000 }

/** One assigned partition: where the reporter is, the partition's end, and the records between. */
export interface PartitionLag {
  readonly partition: number
  /** The next offset counted and saved for good: the group's commit (the partition's start when none). */
  readonly position: string | null
  readonly high: string | null
  /** Records on the partition not yet counted; null when the topic's offsets were never read. */
  readonly lag: number | null
}

export interface ConsumerVerdict {
  /** False when the consumer is crashed, stopped, out of the group too long or silent in it (no batch, no heartbeat). */
  readonly healthy: boolean
  /** Healthy and in the group now. */
  readonly ready: boolean
  /** What is wrong, in words; null when healthy. */
  readonly problem: string | null
  readonly partitions: readonly PartitionLag[]
  /** The sum of the assigned partitions' lag (0 when unknown). */
  readonly lag: number
}

function maxOf(...values: (bigint | null | undefined)[]): bigint | null {
  let best: bigint | null = null
  for (const value of values) if (value !== null && value !== undefined && (best === null || value > best)) best = value
  return best
}

/**
 * The lag of each assigned partition: from the group's commit (made once a batch's counts are saved)
 * to the partition's end, as the latest reading of the broker's offsets or the last fetch saw it.
 * What a stalled batch counted in memory only is still lag.
 */
export function assignedLag(state: ConsumerState, offsets: OffsetsReading | undefined): PartitionLag[] {
  return state.assigned.map((partition) => {
    const seen = offsets?.partitions.find((entry) => entry.partition === partition)
    const high = maxOf(seen?.high, state.highWatermarks.get(partition))
    const position = maxOf(seen?.committed, seen?.low)
    const lag = high === null ? null : Number(high > (position ?? 0n) ? high - (position ?? 0n) : 0n)
    return { partition, position: position === null ? null : String(position), high: high === null ? null : String(high), lag }
  })
}

/**
 * Whether the reporter's consumer is doing its work, from what its client reported and the
 * broker's offsets. Pure: the caller gives the time.
 */
export function judgeConsumer(state: ConsumerState, offsets: OffsetsReading | undefined, now: number, bounds: HealthBounds): ConsumerVerdict {
  const partitions = assignedLag(state, offsets)
  const lag = partitions.reduce((sum, entry) => sum + (entry.lag ?? 0), 0)
  const seconds = (ms: number): string => `${Math.round(ms / 1_000)} s`
  let problem: string | null = null
  if (state.phase === 'crashed' && state.crash && !state.crash.restarting) problem = `the consumer crashed: ${state.crash.error.message}`
  else if (state.phase === 'stopped') problem = 'the consumer stopped'
  else if (state.phase !== 'joined' && now - state.since > bounds.joinMs) {
    const cause = state.crash ? ` (last crash: ${state.crash.error.message})` : ''
    problem = `the consumer has been out of its group for ${seconds(now - state.since)}${cause}`
  } else if (state.phase === 'joined') {
    // A member in its group heartbeats every few seconds even when idle (after every empty fetch).
    // Silent with nothing waiting is no better: a consumer out of its group without knowing it keeps
    // its last assignment, whose lag is what the partitions' new owner left (0 while it keeps up).
    const lastSign = Math.max(state.since, state.lastBatchAt ?? 0, state.lastHeartbeatAt ?? 0)
    if (now - lastSign > bounds.stallMs)
      problem = `no batch and no heartbeat for ${seconds(now - lastSign)}${lag > 0 ? ` while ${lag} records wait` : ': out of its group without knowing it'}`
  }
  return { healthy: problem === null, ready: problem === null && state.phase === 'joined', problem, partitions, lag }
}
