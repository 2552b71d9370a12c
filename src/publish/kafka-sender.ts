import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { createKafkaClient, type KafkaClient, type KafkaProducer, type OutgoingMessage } from '../kafka/index.ts'
import { EVENT_TYPES, eventHeaders, SCHEMA_VERSIONS, type Stream } from './events.ts'

export const DEFAULT_KAFKA_PARTITIONS = 6
export const DEFAULT_CONNECTION_TIMEOUT_MS = 2_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000
export const DEFAULT_SEND_TIMEOUT_MS = 10_000

/** One event as it waits (in memory or in the outbox) for the broker. */
export interface Envelope {
  readonly s: Stream
  readonly k: string
  readonly i: string
  /** The value, as JSON text. */
  readonly v: string
  /** Its sequence number in this publisher (diagnostics; the sequence file keeps the count). */
  readonly q: number
  /** The event type and schema version of an event that is not its stream's own (a ShadowSkips on the comparisons stream); absent: the stream's. */
  readonly t?: readonly [eventType: string, schemaVersion: number]
}

export interface KafkaSenderOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly topics: Readonly<Record<Stream, string>>
  /** Partitions and replication factor of topics created at start. */
  readonly partitions?: number
  readonly replicationFactor?: number
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  readonly sendTimeoutMs?: number
  readonly logger: Logger
}

/** What a step that waited for the broker throws once the publisher stops. */
export class Stopped extends Error {
  constructor() {
    super('publisher stopping')
  }
}

/**
 * The publisher's conversation with the broker, every step with a deadline (issue 14): topics
 * created once, one idempotent producer at a time, sends that give up after `sendTimeoutMs`. Every
 * wait is also cut short by `aborted` (the publisher's close). A producer that failed is closed —
 * connections and all, whether the broker answers or not — and the next send connects a new one.
 */
export class KafkaSender {
  readonly #options: KafkaSenderOptions
  readonly #aborted: Promise<'aborted'>
  readonly #kafka: KafkaClient
  #producer: KafkaProducer | undefined
  #topicsReady = false

  constructor(options: KafkaSenderOptions, aborted: Promise<'aborted'>) {
    this.#options = options
    this.#aborted = aborted
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#kafka = createKafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeoutMs: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs,
      closeTimeoutMs: Math.min(1_000, requestTimeoutMs),
      // The publisher retries (and spills meanwhile); the client must fail fast instead of waiting 30 s.
      retry: { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 500 },
    })
  }

  /** A producer is connected. */
  get connected(): boolean {
    return this.#producer !== undefined
  }

  /** Broker connections open now. */
  get connections(): number {
    return this.#kafka.openConnections()
  }

  /** Creates the topics (once) and connects a producer, unless one is connected. */
  async ready(): Promise<KafkaProducer> {
    if (this.#producer) return this.#producer
    if (!this.#topicsReady) await this.#createTopics()
    this.#producer = await this.#step(this.#kafka.producer({ idempotent: true, compress: true }))
    return this.#producer
  }

  /** Resolves once every in-sync replica has the events; throws on a failure, after `sendTimeoutMs`, or when stopped. */
  async send(envelopes: readonly Envelope[]): Promise<void> {
    const producer = await this.ready()
    const byTopic = new Map<string, OutgoingMessage[]>()
    for (const envelope of envelopes) {
      const topic = this.#options.topics[envelope.s]
      const messages = byTopic.get(topic) ?? []
      messages.push({
        key: envelope.k,
        value: envelope.v,
        headers: eventHeaders(envelope.t?.[0] ?? EVENT_TYPES[envelope.s], envelope.t?.[1] ?? SCHEMA_VERSIONS[envelope.s], envelope.i),
      })
      byTopic.set(topic, messages)
    }
    const timeoutMs = this.#options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS
    const send = producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })))
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false })
    if ((await this.#step(Promise.race([send.then(() => 'sent' as const), timeout]))) === 'timeout') {
      send.catch(() => undefined)
      throw new Error(`broker did not acknowledge within ${timeoutMs} ms`)
    }
  }

  /**
   * After a failure: closes the producer (its connections with it) so the next send starts afresh —
   * the broker may have lost the idempotent producer's state.
   */
  async reset(): Promise<void> {
    const producer = this.#producer
    this.#producer = undefined
    if (producer) await Promise.race([producer.close(), this.#aborted])
  }

  /** Closes the producer cleanly when there is time (`timeoutMs`), then every connection at once. */
  async close(timeoutMs: number): Promise<void> {
    const producer = this.#producer
    this.#producer = undefined
    if (producer && timeoutMs > 0) await Promise.race([producer.close(), sleep(timeoutMs, undefined, { ref: false })])
    this.closeAll()
  }

  /** Whatever still waits on the broker fails now: no connection, no timer outlives this. */
  closeAll(): void {
    this.#producer = undefined
    this.#kafka.closeAll()
  }

  /** Races a step that waits for the broker with the stop: a stopping publisher waits for nothing. */
  async #step<T>(promise: Promise<T>): Promise<T> {
    const outcome = await Promise.race([promise.then((value) => ({ value })), this.#aborted])
    if (outcome === 'aborted') {
      promise.catch(() => undefined)
      throw new Stopped()
    }
    return outcome.value
  }

  async #createTopics(): Promise<void> {
    const admin = await this.#step(this.#kafka.admin())
    try {
      const created = await this.#step(
        admin.ensureTopics(
          Object.values(this.#options.topics).map((topic) => ({
            topic,
            partitions: this.#options.partitions ?? DEFAULT_KAFKA_PARTITIONS,
            replicationFactor: this.#options.replicationFactor ?? -1,
          })),
        ),
      )
      if (created.length > 0) this.#options.logger.info({ topics: created }, 'created topics')
      this.#topicsReady = true
    } finally {
      await admin.close()
    }
  }
}
