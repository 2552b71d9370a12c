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

/** A partition taken up by one reporter: what was saved, and the fencing epoch of this claim. */
export interface PartitionClaim {
  /** Increases with every claim of the partition: a write made under an older claim is refused. */
  readonly epoch: number
  readonly state: PartitionState | undefined
  /** Event ids of the comparisons counted last, oldest first (at most the window the writers keep). */
  readonly recentIds: readonly string[]
}

/** One fenced write of a partition's state. */
export interface PartitionWrite {
  readonly state: PartitionState
  /** The epoch of the writer's claim. */
  readonly epoch: number
  /** Event ids counted since the writer's last write, oldest first: appended to the saved window. */
  readonly newIds: readonly string[]
  /** How many recent ids the saved window keeps. */
  readonly window: number
}

/**
 * `claimed`: another reporter claimed the partition after the writer did; `behind`: the saved
 * state is complete up to a later offset than the write's. Either way nothing was written.
 */
export type SaveResult =
  | { readonly saved: true }
  | { readonly saved: false; readonly reason: 'claimed' | 'behind'; readonly epoch: number; readonly nextOffset: string | null; readonly owner: string | null }

/**
 * Where the reporter keeps its rolling aggregates. A partition's aggregates, its offset and its
 * recent event ids are saved together in one atomic, fenced write: a reporter first claims the
 * partition (which answers the saved state and a new epoch), and a write is applied only while
 * its claim is the latest and it does not move the offset back — a stale owner's write is refused.
 */
export interface ReportStateStore {
  load(topic: string, partition: number): Promise<PartitionState | undefined>
  claim(topic: string, partition: number, owner: string): Promise<PartitionClaim>
  save(write: PartitionWrite): Promise<SaveResult>
  all(topic: string): Promise<PartitionState[]>
  close(): Promise<void>
}

interface Fence {
  epoch: number
  nextOffset: string | null
  owner: string | null
}

/** The fencing rule both stores apply (the Redis script spells the same in Lua). */
function refusal(fence: Fence | undefined, write: PartitionWrite): SaveResult | undefined {
  const epoch = fence?.epoch ?? 0
  const nextOffset = fence?.nextOffset ?? null
  const owner = fence?.owner ?? null
  if (epoch !== write.epoch) return { saved: false, reason: 'claimed', epoch, nextOffset, owner }
  if (nextOffset !== null && BigInt(nextOffset) > BigInt(write.state.nextOffset)) return { saved: false, reason: 'behind', epoch, nextOffset, owner }
  return undefined
}

/** The same claims, fencing and window as the Redis store, in memory (a reporter without Redis, tests). */
export class MemoryReportStateStore implements ReportStateStore {
  readonly #states = new Map<string, PartitionState>()
  readonly #ids = new Map<string, string[]>()
  readonly #fences = new Map<string, Fence>()

  load(topic: string, partition: number): Promise<PartitionState | undefined> {
    return Promise.resolve(this.#states.get(`${topic}:${partition}`))
  }

  claim(topic: string, partition: number, owner: string): Promise<PartitionClaim> {
    const key = `${topic}:${partition}`
    const state = this.#states.get(key)
    const fence = this.#fences.get(key) ?? { epoch: 0, nextOffset: state?.nextOffset ?? null, owner: null }
    fence.epoch += 1
    fence.owner = owner
    this.#fences.set(key, fence)
    return Promise.resolve({ epoch: fence.epoch, state, recentIds: [...(this.#ids.get(key) ?? [])] })
  }

  save(write: PartitionWrite): Promise<SaveResult> {
    const key = `${write.state.topic}:${write.state.partition}`
    const fence = this.#fences.get(key)
    const refused = refusal(fence, write)
    if (refused) return Promise.resolve(refused)
    this.#states.set(key, write.state)
    const ids = [...(this.#ids.get(key) ?? []), ...write.newIds]
    this.#ids.set(key, ids.slice(Math.max(0, ids.length - write.window)))
    if (fence) fence.nextOffset = write.state.nextOffset
    return Promise.resolve({ saved: true })
  }

  all(topic: string): Promise<PartitionState[]> {
    return Promise.resolve([...this.#states.values()].filter((state) => state.topic === topic))
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * Claims a partition: a new epoch and owner in the fence hash, and the saved state and recent ids.
 * A fence older than the fencing (state saved by an earlier version) starts at the state's offset.
 */
const CLAIM_SCRIPT = `
local epoch = redis.call('HINCRBY', KEYS[3], 'epoch', 1)
redis.call('HSET', KEYS[3], 'owner', ARGV[1])
local state = redis.call('GET', KEYS[1])
if state and not redis.call('HGET', KEYS[3], 'next') then
  redis.call('HSET', KEYS[3], 'next', tostring(cjson.decode(state).nextOffset))
end
return {epoch, state, redis.call('LRANGE', KEYS[2], 0, -1)}
`

/**
 * A fenced write: refused (nothing written) unless the writer's epoch is the partition's latest
 * claim and its next offset is not behind the saved one; otherwise state, offset and the new ids
 * (appended, the window trimmed) in one atomic step.
 */
const SAVE_SCRIPT = `
local fence = redis.call('HMGET', KEYS[3], 'epoch', 'next', 'owner')
local epoch = tonumber(fence[1] or '0')
if epoch ~= tonumber(ARGV[1]) then return {0, 'claimed', epoch, fence[2] or '', fence[3] or ''} end
if fence[2] and tonumber(fence[2]) > tonumber(ARGV[2]) then return {0, 'behind', epoch, fence[2], fence[3] or ''} end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[3], 'next', ARGV[2])
for i = 5, #ARGV, 500 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return {1}
`

/**
 * Redis keeps one JSON value per partition under `<prefix>report:<topic>:<partition>` (what readers
 * read), its recent event ids in a list under `<prefix>report-ids:<topic>:<partition>` and its
 * fence (claim epoch, owner, saved next offset) in a hash under `<prefix>report-fence:<topic>:<partition>`.
 */
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

  async claim(topic: string, partition: number, owner: string): Promise<PartitionClaim> {
    const [epoch, raw, ids] = (await this.#redis.eval(CLAIM_SCRIPT, 3, ...this.#keys(topic, partition), owner)) as [number, string | null, string[]]
    return { epoch, state: raw === null ? undefined : (JSON.parse(raw) as PartitionState), recentIds: ids }
  }

  async save(write: PartitionWrite): Promise<SaveResult> {
    const { state } = write
    const args = [String(write.epoch), state.nextOffset, JSON.stringify(state), String(write.window), ...write.newIds]
    const answer = (await this.#redis.eval(SAVE_SCRIPT, 3, ...this.#keys(state.topic, state.partition), ...args)) as [
      number,
      string?,
      number?,
      string?,
      string?,
    ]
    if (answer[0] === 1) return { saved: true }
    return {
      saved: false,
      reason: answer[1] === 'behind' ? 'behind' : 'claimed',
      epoch: answer[2] ?? 0,
      nextOffset: answer[3] || null,
      owner: answer[4] || null,
    }
  }

  #keys(topic: string, partition: number): [string, string, string] {
    const base = this.#prefix.slice(0, -'report:'.length)
    return [`${this.#prefix}${topic}:${partition}`, `${base}report-ids:${topic}:${partition}`, `${base}report-fence:${topic}:${partition}`]
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
export function mergeSlice(states: readonly { readonly slices: readonly SliceAggregateJson[] }[], sliceId: string): Map<string, SliceAggregate> | undefined {
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
