import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Comparison } from '../compare/comparison.ts'
import { fail, FicusError } from '../errors/errors.ts'
import { backoffDelay } from '../retry/backoff.ts'
import {
  DEFAULT_MAX_SIGNATURES,
  MAX_EXAMPLES,
  MAX_RULES_HASHES,
  type DiscrepancyEntry,
  type DiscrepancyQuery,
  type DiscrepancyRegister,
  type RegisterStats,
} from './discrepancy-register.ts'
import { signatureOf, type DiscrepancySignature } from './discrepancy-signature.ts'

export const DEFAULT_REGISTER_FLUSH_INTERVAL_MS = 1_000
export const DEFAULT_REGISTER_MAX_PENDING = 10_000
const COMMAND_TIMEOUT_MS = 2_000
const MAX_RECONNECT_DELAY_MS = 1_000
/** How long `close` waits for the last flush before giving up on what is still pending. */
const CLOSE_FLUSH_TIMEOUT_MS = 1_000
/** Signatures per script call: one call never holds Redis for long. */
const FLUSH_BATCH = 500
/** Entity keys held for Redis while it is away: per signature, and in all. Past them, entities are undercounted. */
const MAX_PENDING_ENTITIES_PER_SIGNATURE = 1_000
const MAX_PENDING_ENTITIES = 100_000
/** Signatures read per page when list() filters. */
const LIST_PAGE = 200
/** How long Redis remembers the last batch an instance wrote (so a batch sent again is not counted twice). */
const FLUSH_MARKER_TTL_S = 7 * 24 * 3_600
const SIGNATURE_ID = /^[0-9a-f]{16}$/

/**
 * One batch, atomically: skipped whole when this instance's marker says it was applied already (a
 * batch re-sent after a lost reply); per signature the hash (signature JSON, count by HINCRBY,
 * firstSeen/lastSeen as min/max by epoch ms), the entities' HyperLogLog, the examples and rules
 * hashes as sorted sets scored by request time (highest kept), the index scored by last seen; then
 * the bound: the signatures seen least recently and their keys go. Returns {applied, ZCARD, evicted}.
 */
const FLUSH_LUA = `
local index, marker, base = KEYS[1], KEYS[2], ARGV[1]
local seq, max, maxExamples, maxRules = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local done = redis.call('GET', marker)
if done and tonumber(done) >= seq then return {0, redis.call('ZCARD', index), 0} end
redis.call('SET', marker, ARGV[2], 'EX', ARGV[6])
local function raise(key, member, score)
  local old = redis.call('ZSCORE', key, member)
  if not old or tonumber(score) > tonumber(old) then redis.call('ZADD', key, score, member) end
end
for _, s in ipairs(cjson.decode(ARGV[7])) do
  local hash = base .. 'sig:' .. s.id
  redis.call('HSETNX', hash, 'signature', s.signature)
  redis.call('HINCRBY', hash, 'count', s.count)
  local seen = redis.call('HMGET', hash, 'firstMs', 'lastMs')
  if not seen[1] or tonumber(s.firstMs) < tonumber(seen[1]) then redis.call('HSET', hash, 'firstMs', s.firstMs, 'firstSeen', s.first) end
  if not seen[2] or tonumber(s.lastMs) > tonumber(seen[2]) then redis.call('HSET', hash, 'lastMs', s.lastMs, 'lastSeen', s.last) end
  raise(index, s.id, s.lastMs)
  if #s.entities > 0 then redis.call('PFADD', base .. 'entities:' .. s.id, unpack(s.entities)) end
  for _, e in ipairs(s.examples) do raise(base .. 'examples:' .. s.id, e[1], e[2]) end
  redis.call('ZREMRANGEBYRANK', base .. 'examples:' .. s.id, 0, -maxExamples - 1)
  for _, r in ipairs(s.rules) do raise(base .. 'rules:' .. s.id, r[1], r[2]) end
  redis.call('ZREMRANGEBYRANK', base .. 'rules:' .. s.id, 0, -maxRules - 1)
end
local card, evicted = redis.call('ZCARD', index), 0
if card > max then
  local gone = redis.call('ZPOPMIN', index, card - max)
  for i = 1, #gone, 2 do
    local id = gone[i]
    redis.call('DEL', base .. 'sig:' .. id, base .. 'entities:' .. id, base .. 'examples:' .. id, base .. 'rules:' .. id)
    evicted = evicted + 1
  end
  card = max
end
return {1, card, evicted}
`

export interface RedisRegisterOptions {
  readonly url: string
  /** Prefix of every key; the register's keys are under `<prefix>register:`. */
  readonly prefix: string
  readonly logger: Logger
  readonly maxSignatures?: number
  /** How often what was recorded is written to Redis (default 1 s). */
  readonly flushIntervalMs?: number
  /** Signatures held in memory for Redis at most (default 10 000): past it, comparisons of a new signature are dropped. */
  readonly maxPending?: number
}

interface Seen {
  readonly at: string
  readonly ms: number
}

/** What this instance recorded of one signature since its last flush. */
interface Pending {
  readonly signature: DiscrepancySignature
  count: number
  first: Seen
  last: Seen
  readonly entities: Set<string>
  /** requestId → request time (ms), the newest MAX_EXAMPLES. */
  readonly examples: Map<string, number>
  /** rules hash → latest request time (ms), the newest MAX_RULES_HASHES. */
  readonly rules: Map<string, number>
}

/** Pending signatures frozen for one script call, sent again unchanged until Redis answers. */
interface Batch {
  readonly seq: number
  readonly payload: string
  readonly records: number
}

/**
 * The shared register: every gateway instance writes the same Redis keys, under `<prefix>register:`
 * — `sig:<id>` (hash: signature JSON, count, firstSeen/lastSeen and their epoch ms), `entities:<id>`
 * (HyperLogLog), `examples:<id>` and `rules:<id>` (sorted sets scored by request time, so "newest"
 * is by request time whichever instance wrote it), `index` (sorted set of ids scored by last seen),
 * and `flushed:<instance>` (the last batch this instance wrote). `record` only aggregates in memory;
 * a timer writes the aggregate in one Lua script per batch of signatures. With Redis away the
 * aggregate waits (bounded by `maxPending` signatures; comparisons of a new signature past it are
 * dropped and counted in `evicted`) and is written once Redis is back: a batch whose reply was lost
 * is sent again with the same number, and the script skips it if it had been applied, so every
 * comparison counts exactly once. Reads go to Redis and fail with FICUS_ERR_EVIDENCE_UNAVAILABLE
 * while it is away. Keys are built inside the script: one Redis, not a cluster.
 */
export class RedisDiscrepancyRegister implements DiscrepancyRegister {
  readonly kind = 'redis'
  readonly #options: RedisRegisterOptions
  readonly #log: Logger
  readonly #client: Redis
  readonly #base: string
  readonly #marker: string
  readonly #pending = new Map<string, Pending>()
  #inflight: Batch | undefined
  #seq = 0
  #pendingEntities = 0
  #pendingRecords = 0
  #recorded = 0
  /** Signatures evicted from Redis by this instance's flushes, plus comparisons dropped because the pending map was full. */
  #evicted = 0
  #signatures = 0
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()
  #queued = 0
  #connected = false
  #failing = false
  #full = false
  #closed = false

  constructor(options: RedisRegisterOptions) {
    this.#options = options
    this.#log = options.logger.child({ register: 'redis' })
    this.#base = `${options.prefix}register:`
    this.#marker = `${this.#base}flushed:${randomUUID()}`
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: COMMAND_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt: number) => backoffDelay(attempt, { baseMs: 50, maxMs: MAX_RECONNECT_DELAY_MS }),
    })
    this.#client.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'discrepancy register: redis connection error'))
    this.#client.on('ready', () => this.#onReady())
    this.#client.on('close', () => {
      if (!this.#connected || this.#closed) return
      this.#connected = false
      this.#log.warn('discrepancy register lost Redis: comparisons are kept in memory and written when it is back')
    })
  }

  async open(): Promise<void> {
    const interval = this.#options.flushIntervalMs ?? DEFAULT_REGISTER_FLUSH_INTERVAL_MS
    this.#timer = setInterval(() => {
      if (this.#queued !== 0) return
      // Nothing of this instance to write (another instance or the reporter feeds the register): the count is read instead.
      if (this.#pendingRecords === 0) this.#refreshCount()
      else void this.flush()
    }, interval)
    this.#timer.unref()
    // Never blocks the gateway's start: without Redis, comparisons wait in memory.
    await this.#client.connect().catch(() => undefined)
    if (this.#client.status !== 'ready') this.#log.warn('discrepancy register: Redis unreachable at start; comparisons are kept in memory until it answers')
  }

  record(comparison: Comparison): void {
    if (this.#closed) return
    try {
      const signature = signatureOf(comparison)
      if (!signature) return
      const parsed = Date.parse(comparison.requestTime)
      const seen: Seen = Number.isNaN(parsed) ? { at: new Date().toISOString(), ms: Date.now() } : { at: comparison.requestTime, ms: parsed }
      let held = this.#pending.get(signature.id)
      if (!held) {
        if (this.#pending.size >= (this.#options.maxPending ?? DEFAULT_REGISTER_MAX_PENDING)) return this.#drop()
        held = { signature, count: 0, first: seen, last: seen, entities: new Set(), examples: new Map(), rules: new Map() }
        this.#pending.set(signature.id, held)
      }
      this.#recorded++
      this.#pendingRecords++
      this.#merge(held, comparison, seen)
    } catch (err) {
      this.#log.warn({ err }, 'discrepancy register: a comparison could not be recorded')
    }
  }

  async list(query: DiscrepancyQuery): Promise<DiscrepancyEntry[]> {
    if (query.limit <= 0) return []
    return this.#reading(async () => {
      const max = this.#options.maxSignatures ?? DEFAULT_MAX_SIGNATURES
      const filtered = query.slice !== undefined || query.family !== undefined
      const page = filtered ? LIST_PAGE : query.limit
      const found = new Map<string, DiscrepancyEntry>()
      for (let start = 0; start < max && found.size < query.limit; start += page) {
        const ids = await this.#client.zrevrange(`${this.#base}index`, start, Math.min(start + page, max) - 1)
        const candidates = (filtered ? await this.#matching(ids, query) : ids).filter((id) => !found.has(id))
        for (const entry of await this.#read(candidates.slice(0, query.limit - found.size))) found.set(entry.id, entry)
        if (ids.length < page) break
      }
      return [...found.values()]
    })
  }

  async get(id: string): Promise<DiscrepancyEntry | undefined> {
    if (!SIGNATURE_ID.test(id)) return undefined
    return this.#reading(async () => (await this.#read([id]))[0])
  }

  stats(): RegisterStats {
    return { signatures: this.#signatures, recorded: this.#recorded, evicted: this.#evicted }
  }

  /** Writes what is pending now; resolves when written or when Redis could not take it (it stays pending). Never rejects. */
  flush(): Promise<void> {
    this.#queued++
    this.#flushing = this.#flushing.then(() => this.#flushAll()).finally(() => this.#queued--)
    return this.#flushing
  }

  async close(): Promise<void> {
    if (this.#closed) return
    clearInterval(this.#timer)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_TIMEOUT_MS)))
    await Promise.race([this.flush(), deadline])
    clearTimeout(timer)
    this.#closed = true
    if (this.#pendingRecords > 0)
      this.#log.warn({ comparisons: this.#pendingRecords }, 'discrepancy register closed with comparisons Redis did not take: they are not in the register')
    this.#client.disconnect()
  }

  #merge(held: Pending, comparison: Comparison, seen: Seen): void {
    held.count++
    if (seen.ms < held.first.ms) held.first = seen
    if (seen.ms > held.last.ms) held.last = seen
    const entity = comparison.entityKey
    if (
      entity !== null &&
      !held.entities.has(entity) &&
      held.entities.size < MAX_PENDING_ENTITIES_PER_SIGNATURE &&
      this.#pendingEntities < MAX_PENDING_ENTITIES
    ) {
      held.entities.add(entity)
      this.#pendingEntities++
    }
    keepNewest(held.examples, comparison.requestId, seen.ms, MAX_EXAMPLES)
    keepNewest(held.rules, comparison.rulesHash, seen.ms, MAX_RULES_HASHES)
  }

  #drop(): void {
    this.#evicted++
    if (this.#full) return
    this.#full = true
    this.#log.warn(
      { maxPending: this.#options.maxPending ?? DEFAULT_REGISTER_MAX_PENDING },
      'discrepancy register: too many signatures waiting for Redis; comparisons of new signatures are dropped until it takes them',
    )
  }

  /** The number of signatures in Redis, as `stats()` tells it. */
  #refreshCount(): void {
    if (!this.#connected) return
    this.#client
      .zcard(`${this.#base}index`)
      .then((count) => (this.#signatures = count))
      .catch(() => undefined)
  }

  #onReady(): void {
    if (this.#closed) return
    this.#connected = true
    this.#refreshCount()
    if (this.#pendingRecords > 0) void this.flush()
  }

  /** Batch after batch while Redis takes them; the batches pending at the start at most (a steady stream never keeps it going). */
  async #flushAll(): Promise<void> {
    let rounds = Math.ceil(this.#pending.size / FLUSH_BATCH) + 1
    while (rounds-- > 0 && this.#client.status === 'ready') {
      this.#inflight ??= this.#freeze()
      const batch = this.#inflight
      if (!batch) return
      if (!(await this.#send(batch))) return
      this.#inflight = undefined
      this.#pendingRecords -= batch.records
    }
  }

  /** Takes up to FLUSH_BATCH pending signatures out, as the script's payload. */
  #freeze(): Batch | undefined {
    if (this.#pending.size === 0) return undefined
    const items: unknown[] = []
    let records = 0
    for (const [id, held] of this.#pending) {
      if (items.length === FLUSH_BATCH) break
      this.#pending.delete(id)
      this.#pendingEntities -= held.entities.size
      records += held.count
      items.push({
        id,
        signature: JSON.stringify(held.signature),
        count: held.count,
        first: held.first.at,
        firstMs: String(held.first.ms),
        last: held.last.at,
        lastMs: String(held.last.ms),
        entities: [...held.entities],
        examples: [...held.examples].map(([requestId, ms]) => [requestId, String(ms)]),
        rules: [...held.rules].map(([hash, ms]) => [hash, String(ms)]),
      })
    }
    this.#full = false
    return { seq: ++this.#seq, payload: JSON.stringify(items), records }
  }

  async #send(batch: Batch): Promise<boolean> {
    const max = this.#options.maxSignatures ?? DEFAULT_MAX_SIGNATURES
    try {
      const reply = (await this.#client.eval(
        FLUSH_LUA,
        2,
        `${this.#base}index`,
        this.#marker,
        this.#base,
        String(batch.seq),
        String(max),
        String(MAX_EXAMPLES),
        String(MAX_RULES_HASHES),
        String(FLUSH_MARKER_TTL_S),
        batch.payload,
      )) as [number, number, number]
      this.#signatures = reply[1]
      this.#evicted += reply[2]
      if (this.#failing) this.#log.info({ comparisons: batch.records }, 'discrepancy register: Redis takes the comparisons held for it again')
      this.#failing = false
      return true
    } catch (err) {
      if (!this.#failing && !this.#closed)
        this.#log.warn({ err: (err as Error).message }, 'discrepancy register could not write to Redis; the comparisons are kept in memory and sent again')
      this.#failing = true
      return false
    }
  }

  async #reading<T>(run: () => Promise<T>): Promise<T> {
    if (this.#client.status !== 'ready') throw unavailable()
    try {
      return await run()
    } catch (err) {
      throw err instanceof FicusError ? err : unavailable(err)
    }
  }

  /** The ids among `ids` whose signature is of the query's slice and family. */
  async #matching(ids: readonly string[], query: DiscrepancyQuery): Promise<string[]> {
    if (ids.length === 0) return []
    const pipeline = this.#client.pipeline()
    for (const id of ids) pipeline.hget(`${this.#base}sig:${id}`, 'signature')
    const replies = results(await pipeline.exec())
    return ids.filter((_id, index) => {
      const signature = parseSignature(replies[index])
      return (
        signature !== undefined &&
        (query.slice === undefined || signature.slice === query.slice) &&
        (query.family === undefined || signature.family === query.family)
      )
    })
  }

  /** The entries of `ids`, in that order; one evicted meanwhile is left out. */
  async #read(ids: readonly string[]): Promise<DiscrepancyEntry[]> {
    if (ids.length === 0) return []
    const pipeline = this.#client.pipeline()
    for (const id of ids)
      pipeline
        .hgetall(`${this.#base}sig:${id}`)
        .pfcount(`${this.#base}entities:${id}`)
        .zrevrange(`${this.#base}examples:${id}`, 0, -1)
        .zrange(`${this.#base}rules:${id}`, '0', '-1', 'WITHSCORES')
    const replies = results(await pipeline.exec())
    return ids.flatMap((_id, index) => {
      const [hash, entities, examples, rules] = replies.slice(index * 4, index * 4 + 4) as [Record<string, string>, number, string[], string[]]
      const signature = parseSignature(hash.signature)
      if (!signature || hash.count === undefined || hash.firstSeen === undefined || hash.lastSeen === undefined) return []
      const rulesSeen: { rulesHash: string; lastSeen: string }[] = []
      for (let at = 0; at + 1 < rules.length; at += 2)
        rulesSeen.push({ rulesHash: rules[at] as string, lastSeen: new Date(Number(rules[at + 1])).toISOString() })
      const rulesHashes = rulesSeen.map((seen) => seen.rulesHash)
      return [{ ...signature, count: Number(hash.count), firstSeen: hash.firstSeen, lastSeen: hash.lastSeen, entities, examples, rulesHashes, rulesSeen }]
    })
  }
}

/** Keeps `key` at its latest time, and the `max` newest keys (the oldest goes first). */
function keepNewest(map: Map<string, number>, key: string, ms: number, max: number): void {
  map.set(key, Math.max(map.get(key) ?? -Infinity, ms))
  if (map.size <= max) return
  let oldest: [string, number] | undefined
  for (const entry of map) if (!oldest || entry[1] < oldest[1]) oldest = entry
  if (oldest) map.delete(oldest[0])
}

function results(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('the pipeline was not run')
  return replies.map(([err, value]) => {
    if (err) throw err
    return value
  })
}

function parseSignature(text: unknown): DiscrepancySignature | undefined {
  if (typeof text !== 'string') return undefined
  try {
    const signature = JSON.parse(text) as DiscrepancySignature
    return typeof signature.id === 'string' && typeof signature.slice === 'string' ? signature : undefined
  } catch {
    return undefined
  }
}

function unavailable(cause?: unknown): FicusError {
  return fail.registerUnavailable(
    'the discrepancy register is unavailable: Redis is unreachable (comparisons are kept in memory and written when it is back)',
    cause === undefined ? {} : { cause },
  )
}
