import { Redis } from 'ioredis'
import { SliceAggregate, type SliceAggregateJson } from '../slice-aggregate.ts'

/** The reporter's state of one partition: its aggregates and the offset they are complete up to. */
export interface PartitionState {
  readonly topic: string
  readonly partition: number
  /** Offset of the first message not yet counted. */
  readonly nextOffset: string
  readonly slices: readonly SliceAggregateJson[]
}

/**
 * Where the reporter keeps its rolling aggregates. Aggregates and offset are saved together in one
 * write per partition, so a restarted reporter resumes exactly where the saved counts end.
 */
export interface ReportStateStore {
  load(topic: string, partition: number): Promise<PartitionState | undefined>
  save(state: PartitionState): Promise<void>
  all(topic: string): Promise<PartitionState[]>
  close(): Promise<void>
}

export class MemoryReportStateStore implements ReportStateStore {
  readonly #states = new Map<string, PartitionState>()

  load(topic: string, partition: number): Promise<PartitionState | undefined> {
    return Promise.resolve(this.#states.get(`${topic}:${partition}`))
  }

  save(state: PartitionState): Promise<void> {
    this.#states.set(`${state.topic}:${state.partition}`, state)
    return Promise.resolve()
  }

  all(topic: string): Promise<PartitionState[]> {
    return Promise.resolve([...this.#states.values()].filter((state) => state.topic === topic))
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** Redis keeps one JSON value per partition under `<prefix>report:<topic>:<partition>`. */
export class RedisReportStateStore implements ReportStateStore {
  readonly #redis: Redis
  readonly #prefix: string

  /**
   * By default (the gateway's reading side) a read fails at once while Redis is away, and within
   * `commandTimeoutMs` while it is frozen, instead of waiting in a queue: no admin request waits on
   * evidence it cannot get. `queueWhileOffline` (the reporter's writer) queues instead: its saves
   * are retried with the batch.
   */
  constructor(url: string, prefix: string, options: { queueWhileOffline?: boolean; commandTimeoutMs?: number } = {}) {
    this.#redis = !options.queueWhileOffline
      ? new Redis(url, {
          lazyConnect: false,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: options.commandTimeoutMs ?? 1_000,
          commandTimeout: options.commandTimeoutMs ?? 1_000,
          retryStrategy: (times: number) => Math.min(500, 50 * 2 ** times),
        })
      : new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true })
    this.#redis.on('error', () => undefined)
    this.#prefix = `${prefix}report:`
  }

  async load(topic: string, partition: number): Promise<PartitionState | undefined> {
    const raw = await this.#redis.get(`${this.#prefix}${topic}:${partition}`)
    return raw === null ? undefined : (JSON.parse(raw) as PartitionState)
  }

  async save(state: PartitionState): Promise<void> {
    await this.#redis.set(`${this.#prefix}${state.topic}:${state.partition}`, JSON.stringify(state))
  }

  async all(topic: string): Promise<PartitionState[]> {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await this.#redis.scan(cursor, 'MATCH', `${this.#prefix}${topic}:*`, 'COUNT', 200)
      cursor = next
      keys.push(...found)
    } while (cursor !== '0')
    if (keys.length === 0) return []
    const values = await this.#redis.mget(...keys)
    return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as PartitionState)
  }

  close(): Promise<void> {
    this.#redis.disconnect()
    return Promise.resolve()
  }
}

/** One slice's aggregates across every partition of the saved states, per rules version; undefined when none has it. */
export function mergeSlice(states: readonly PartitionState[], sliceId: string): Map<string, SliceAggregate> | undefined {
  let merged: Map<string, SliceAggregate> | undefined
  for (const state of states) {
    for (const json of state.slices) {
      if (json.slice !== sliceId) continue
      const aggregate = SliceAggregate.fromJSON(json)
      merged ??= new Map()
      const known = merged.get(aggregate.rulesHash)
      if (known) known.merge(aggregate)
      else merged.set(aggregate.rulesHash, aggregate)
    }
  }
  return merged
}
