import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { fail, type FicusError } from '../errors/errors.ts'
import type { TriageInput, TriageStore } from './triage-store.ts'
import { applyAction, UNTRIAGED, type TriageRecord, type TriageStatus } from './triage.ts'

const COMMAND_TIMEOUT_MS = 1_000
/** Actions kept in the shared log (newest first); the statuses do not depend on it. */
const MAX_LOG = 100_000
/** Each round at least one contender wins: enough for a crowd of people acting on one signature at once. */
const CAS_ATTEMPTS = 25

// Sets a signature's status only if it is still the one the action was computed from (another
// instance may have acted meanwhile), and logs the action with it, atomically.
const CAS_LUA = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[4])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
return 1
`

export interface RedisTriageOptions {
  readonly url: string
  readonly prefix: string
  readonly instance: string
  readonly logger: Logger
}

/** Triage shared by every instance: each signature's status in one hash, every action in one log. */
export class RedisTriageStore implements TriageStore {
  readonly kind = 'redis'
  readonly #options: RedisTriageOptions
  readonly #client: Redis
  readonly #statusKey: string
  readonly #logKey: string

  constructor(options: RedisTriageOptions) {
    this.#options = options
    this.#statusKey = `${options.prefix}triage:status`
    this.#logKey = `${options.prefix}triage:log`
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: COMMAND_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(2_000, 100 * 2 ** attempt),
    })
    this.#client.on('error', (err: Error) => options.logger.debug({ err: err.message }, 'triage store connection error'))
  }

  async open(): Promise<void> {
    // Never blocks the gateway's start: triage is read and written when it is asked for.
    await this.#client.connect().catch(() => undefined)
  }

  async statuses(signatures: readonly string[]): Promise<Map<string, TriageStatus>> {
    const found = new Map<string, TriageStatus>()
    if (signatures.length === 0) return found
    const raw = await this.#command(() => this.#client.hmget(this.#statusKey, ...signatures))
    signatures.forEach((signature, at) => found.set(signature, parseStatus(raw[at])))
    return found
  }

  async act(input: TriageInput): Promise<TriageRecord> {
    const record: TriageRecord = { id: randomUUID(), ...input, at: new Date().toISOString(), instance: this.#options.instance }
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#command(() => this.#client.hget(this.#statusKey, record.signature))
      const next = JSON.stringify(applyAction(parseStatus(current), record))
      let written: unknown
      try {
        written = await this.#command(() =>
          this.#client.eval(CAS_LUA, 2, this.#statusKey, this.#logKey, record.signature, current ?? '', next, JSON.stringify(record), MAX_LOG),
        )
      } catch (err) {
        // No answer in time: the script may still have run. The status says whether it did.
        if (await this.#landed(record.signature, next)) return record
        throw fail.registerUnavailable('Redis did not confirm the triage action in time: it may have been recorded; read the history before retrying', {
          cause: err,
        })
      }
      if (written === 1) return record
      await sleep(5 + Math.random() * 20)
    }
    throw fail.registerUnavailable('the triage action was not recorded: the signature kept changing under it (another instance acting at the same time); retry')
  }

  async history(query: { signature?: string; limit: number }): Promise<TriageRecord[]> {
    const found: TriageRecord[] = []
    // Read in pages, newest first, until the limit is met or the log ends.
    for (let start = 0; start < MAX_LOG && found.length < query.limit; start += 1_000) {
      const page = await this.#command(() => this.#client.lrange(this.#logKey, start, start + 999))
      for (const text of page) {
        const record = parseRecord(text)
        if (record && (query.signature === undefined || record.signature === query.signature)) found.push(record)
        if (found.length >= query.limit) break
      }
      if (page.length < 1_000) break
    }
    return found
  }

  /** Whether a signature's status is the one an action wrote (asked a few times while Redis catches up). */
  async #landed(signature: string, next: string): Promise<boolean> {
    for (let attempt = 0; attempt < 4; attempt++) {
      await sleep(250 * (attempt + 1))
      const now = await this.#command(() => this.#client.hget(this.#statusKey, signature)).catch(() => undefined)
      if (now !== undefined) return now === next
    }
    return false
  }

  close(): Promise<void> {
    this.#client.disconnect()
    return Promise.resolve()
  }

  async #command<T>(run: () => Promise<T>): Promise<T> {
    if (this.#client.status !== 'ready') throw unavailable()
    try {
      return await run()
    } catch (err) {
      throw unavailable(err)
    }
  }
}

function parseStatus(text: string | null | undefined): TriageStatus {
  if (!text) return UNTRIAGED
  try {
    return { ...UNTRIAGED, ...(JSON.parse(text) as Partial<TriageStatus>) }
  } catch {
    return UNTRIAGED
  }
}

function parseRecord(text: string): TriageRecord | undefined {
  try {
    const record = JSON.parse(text) as TriageRecord
    return typeof record.signature === 'string' && typeof record.action === 'string' ? record : undefined
  } catch {
    return undefined
  }
}

function unavailable(cause?: unknown): FicusError {
  return fail.registerUnavailable(
    'triage is unavailable: Redis is unreachable; nothing was changed, retry once it is back',
    cause === undefined ? {} : { cause },
  )
}
