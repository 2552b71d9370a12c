import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { fail, type FicusError } from '../errors/errors.ts'
import { DecisionState, Listeners, type NoiseDecisionInput, type NoiseDecisionRecord, type NoiseDecisionStore } from './noise-decisions.ts'

const MAX_DECISIONS = 10_000
const COMMAND_TIMEOUT_MS = 2_000

export interface RedisNoiseDecisionOptions {
  readonly url: string
  readonly prefix: string
  readonly instance: string
  readonly logger: Logger
}

/**
 * Noise decisions shared by every instance: a Redis stream (`<prefix>noise-decisions`, the audit,
 * trimmed to about ten thousand) that every instance replays on each (re)connection, and a channel
 * of the same name that pushes each new decision at once. A decision is taken only when Redis
 * acknowledged it; with Redis away it is refused (503), never kept locally to be lost.
 */
export class RedisNoiseDecisionStore implements NoiseDecisionStore {
  readonly kind = 'redis'
  readonly #options: RedisNoiseDecisionOptions
  readonly #key: string
  readonly #state = new DecisionState()
  readonly #listeners = new Listeners<NoiseDecisionRecord>()
  readonly #client: Redis
  readonly #subscriber: Redis

  constructor(options: RedisNoiseDecisionOptions) {
    this.#options = options
    this.#key = `${options.prefix}noise-decisions`
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: COMMAND_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(2_000, 100 * 2 ** attempt),
    }
    this.#client = new Redis(options.url, common)
    // Subscribed on every ready below; ioredis's own resubscribe would leave a rejection unhandled.
    this.#subscriber = new Redis(options.url, { ...common, commandTimeout: undefined, autoResubscribe: false })
    for (const connection of [this.#client, this.#subscriber]) connection.on('error', () => undefined)
    // Every (re)connection replays the stream: decisions taken while this instance was away apply.
    this.#client.on('ready', () => void this.#replay())
    this.#subscriber.on('message', (_channel: string, message: string) => this.#receive(message))
    this.#subscriber.on('ready', () => void this.#subscriber.subscribe(this.#key).catch(() => undefined))
  }

  async open(): Promise<void> {
    // Never blocks the gateway's start: without Redis there are no decisions yet, and they follow.
    await Promise.allSettled([this.#client.connect(), this.#subscriber.connect()])
  }

  current(): NoiseDecisionRecord[] {
    return this.#state.current()
  }

  async history(query: { slice?: string; limit: number }): Promise<NoiseDecisionRecord[]> {
    const entries = await this.#command(() => this.#client.xrevrange(this.#key, '+', '-', 'COUNT', MAX_DECISIONS))
    return entries
      .flatMap(([, fields]) => this.#parse(fields[1]))
      .filter((record) => query.slice === undefined || record.slice === query.slice)
      .slice(0, query.limit)
  }

  async decide(input: NoiseDecisionInput): Promise<NoiseDecisionRecord> {
    const record: NoiseDecisionRecord = { id: randomUUID(), ...input, at: new Date().toISOString(), instance: this.#options.instance }
    const json = JSON.stringify(record)
    await this.#command(() => this.#client.multi().xadd(this.#key, 'MAXLEN', '~', String(MAX_DECISIONS), '*', 'record', json).publish(this.#key, json).exec())
    this.#apply(record)
    return record
  }

  onDecision(listener: (record: NoiseDecisionRecord) => void): () => void {
    return this.#listeners.add(listener)
  }

  close(): Promise<void> {
    this.#client.disconnect()
    this.#subscriber.disconnect()
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

  async #replay(): Promise<void> {
    try {
      const entries = await this.#client.xrange(this.#key, '-', '+')
      for (const [, fields] of entries) for (const record of this.#parse(fields[1])) this.#apply(record)
    } catch (err) {
      this.#options.logger.warn({ err: (err as Error).message }, 'could not read the noise decisions from Redis; retrying on the next connection')
    }
  }

  #receive(message: string): void {
    for (const record of this.#parse(message)) this.#apply(record)
  }

  #apply(record: NoiseDecisionRecord): void {
    // Listeners get the decision in force for that path (a late, older record changes nothing).
    if (this.#state.apply(record)) this.#listeners.emit(this.#state.latest(record) ?? record)
  }

  #parse(text: string | undefined): NoiseDecisionRecord[] {
    try {
      const record = JSON.parse(text ?? '') as NoiseDecisionRecord
      return typeof record.id === 'string' && typeof record.slice === 'string' ? [record] : []
    } catch {
      return []
    }
  }
}

function unavailable(cause?: unknown): FicusError {
  return fail.authorityStoreUnavailable('Redis is unreachable: the noise decision was not taken; retry when it is back', cause === undefined ? {} : { cause })
}
