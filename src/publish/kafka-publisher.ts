import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { backoffDelay } from '../backoff.ts'
import { createKafkaClient, type KafkaClient, type KafkaProducer, type OutgoingMessage } from '../kafka/index.ts'
import type { EventSink, SinkStats, SinkStatus } from './event-sink.ts'
import { EVENT_TYPES, eventHeaders, SCHEMA_VERSIONS, type Stream } from './events.ts'
import { Outbox } from './outbox.ts'

export const DEFAULT_KAFKA_PARTITIONS = 6
export const DEFAULT_MAX_QUEUED = 10_000
export const DEFAULT_LINGER_MS = 5
const BATCH = 500
const SEND_TIMEOUT_MS = 10_000
const MAX_BACKOFF_MS = 5_000

export interface KafkaPublisherOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly topics: Readonly<Record<Stream, string>>
  /** Partitions and replication factor of topics created at start. */
  readonly partitions?: number
  readonly replicationFactor?: number
  readonly outboxDir: string
  readonly outboxMaxBytes?: number
  /** Records waiting in memory; beyond, new records are dropped and counted. */
  readonly maxQueued?: number
  readonly lingerMs?: number
  readonly logger: Logger
}

/** One event as it waits (in memory or in the outbox) for the broker. */
interface Envelope {
  readonly s: Stream
  readonly k: string
  readonly i: string
  /** The value, as JSON text. */
  readonly v: string
}

export interface PublisherStats {
  readonly published: number
  readonly retried: number
  readonly spilled: number
  readonly replayed: number
  readonly dropped: number
  readonly queued: number
  readonly outboxBytes: number
}

/**
 * Publishes events to Kafka without ever blocking the caller or losing a record silently.
 * `write` only queues in memory. One loop sends batches with an idempotent producer (acks from all
 * in-sync replicas, gzip). When a send fails, or the queue backs up, records spill in order to the
 * on-disk outbox; while the outbox holds anything, new records go behind it, and the loop delivers
 * it first — removing records only after the broker acknowledged them. Delivery is at least once:
 * after a crash a consumer may see a record again, with the same event id.
 */
export class KafkaPublisher {
  readonly #options: KafkaPublisherOptions
  readonly #log: Logger
  readonly #kafka: KafkaClient
  readonly #outbox: Outbox
  readonly #queue: Envelope[] = []
  #producer: KafkaProducer | undefined
  #topicsReady = false
  #wake: (() => void) | undefined
  #loop: Promise<void> | undefined
  #closing = false
  /** Set once close has waited long enough: the loop stops after its current step. */
  #stopping = false
  #closeSignal: () => void = () => undefined
  readonly #closed = new Promise<void>((resolve) => (this.#closeSignal = resolve))
  #failures = 0
  #droppedSinceLog = 0
  #stats = { published: 0, retried: 0, spilled: 0, replayed: 0, dropped: 0 }

  constructor(options: KafkaPublisherOptions) {
    this.#options = options
    this.#log = options.logger.child({ sink: 'kafka' })
    this.#kafka = createKafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      // Our loop retries (and spills meanwhile); the client must fail fast instead of waiting 30 s.
      retry: { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 500 },
    })
    this.#outbox = new Outbox({ dir: options.outboxDir, ...(options.outboxMaxBytes === undefined ? {} : { maxBytes: options.outboxMaxBytes }) })
  }

  /**
   * Opens the outbox (what an earlier process left is delivered first) and starts the loop, which
   * creates the topics and connects at once; never waits for the broker.
   */
  async start(): Promise<void> {
    await this.#outbox.open()
    if (!this.#outbox.isEmpty) this.#log.warn({ outboxBytes: this.#outbox.bytes }, 'outbox holds undelivered events from an earlier run; delivering them first')
    this.#loop = this.#run()
  }

  /** A sink of one stream, for the code that produces its events. */
  sink<T extends { readonly eventId: string }>(stream: Stream, keyOf: (record: T) => string): EventSink<T> {
    return {
      kind: 'kafka',
      write: (record) => this.#enqueue({ s: stream, k: keyOf(record), i: record.eventId, v: JSON.stringify(record) }),
      stats: () => this.#sinkStats(),
      status: () => this.status(),
      close: () => this.close(),
    }
  }

  stats(): PublisherStats {
    return { ...this.#stats, queued: this.#queue.length, outboxBytes: this.#outbox.bytes }
  }

  status(): SinkStatus {
    const outboxBytes = this.#outbox.bytes
    if (outboxBytes > 0) return { kind: 'kafka', state: 'spilling', outboxBytes }
    if (!this.#producer) return { kind: 'kafka', state: 'disconnected', outboxBytes }
    return { kind: 'kafka', state: this.#queue.length > BATCH ? 'buffering' : 'connected', outboxBytes }
  }

  /** Sends what is queued while the broker answers (bounded by `timeoutMs`); keeps the rest in the outbox. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.#closing) return this.#loop
    this.#closing = true
    this.#wake?.()
    this.#closeSignal()
    const deadline = sleep(timeoutMs, 'timeout' as const, { ref: false })
    if ((await Promise.race([this.#loop?.then(() => 'done' as const), deadline])) === 'timeout') {
      this.#log.warn({ timeoutMs }, 'broker too slow at shutdown: keeping the rest in the outbox')
    }
    this.#stopping = true
    this.#wake?.()
    this.#closeSignal()
    await this.#loop
    // Nothing queued in memory survives the process: it goes to disk.
    if (this.#queue.length > 0) await this.#spill(this.#queue.splice(0))
    this.#logDrops()
    await this.#producer?.close().catch(() => undefined)
    this.#producer = undefined
  }

  #sinkStats(): SinkStats {
    return { written: this.#stats.published, dropped: this.#stats.dropped, buffered: this.#queue.length }
  }

  #enqueue(envelope: Envelope): void {
    if (this.#closing || this.#queue.length >= (this.#options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      this.#drop(1)
      return
    }
    this.#queue.push(envelope)
    this.#wake?.()
  }

  #drop(count: number): void {
    this.#stats.dropped += count
    this.#droppedSinceLog += count
    if (this.#droppedSinceLog === count) setImmediate(() => this.#logDrops())
  }

  #logDrops(): void {
    if (this.#droppedSinceLog === 0) return
    this.#log.error({ dropped: this.#droppedSinceLog, total: this.#stats.dropped, outboxBytes: this.#outbox.bytes }, 'events dropped: queue and outbox full')
    this.#droppedSinceLog = 0
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#stopping) return
      try {
        if (!this.#outbox.isEmpty) {
          // Keep order: whatever waits in memory goes behind the outbox.
          if (this.#queue.length > 0) await this.#spill(this.#queue.splice(0))
          const batch = await this.#outbox.peek(BATCH)
          const envelopes = batch.lines.flatMap((line) => this.#parse(line))
          if (envelopes.length > 0) await this.#send(envelopes)
          await this.#outbox.ack(batch.next)
          this.#stats.replayed += envelopes.length
          if (this.#outbox.isEmpty) this.#log.info({ replayed: this.#stats.replayed }, 'outbox delivered')
          this.#succeeded()
          continue
        }
        if (this.#queue.length === 0) {
          if (this.#closing) return
          if (!this.#producer) {
            // Idle and not connected (at start, or after a failure): create the topics and connect
            // now rather than on the first event, so topics exist as soon as the gateway runs.
            await this.#producerReady()
            this.#succeeded()
            continue
          }
          await new Promise<void>((resolve) => (this.#wake = resolve))
          this.#wake = undefined
          continue
        }
        if (!this.#closing && this.#queue.length < BATCH) await sleep(this.#options.lingerMs ?? DEFAULT_LINGER_MS)
        const batch = this.#queue.splice(0, BATCH)
        try {
          await this.#send(batch)
          this.#succeeded()
        } catch (err) {
          await this.#spill(batch)
          throw err
        }
      } catch (err) {
        await this.#failed(err)
      }
    }
  }

  async #spill(envelopes: readonly Envelope[]): Promise<void> {
    const lines = envelopes.map((envelope) => JSON.stringify(envelope))
    let taken = 0
    try {
      taken = await this.#outbox.append(lines)
    } catch (err) {
      this.#log.error({ err, dir: this.#options.outboxDir }, 'could not write to the outbox')
    }
    this.#stats.spilled += taken
    if (taken < lines.length) this.#drop(lines.length - taken)
  }

  #parse(line: string): Envelope[] {
    try {
      const envelope = JSON.parse(line) as Envelope
      if (typeof envelope.s === 'string' && typeof envelope.v === 'string') return [envelope]
    } catch {
      // a line torn by a crash
    }
    this.#drop(1)
    return []
  }

  async #producerReady(): Promise<KafkaProducer> {
    if (this.#producer) return this.#producer
    if (!this.#topicsReady) await this.#createTopics()
    this.#producer = await this.#kafka.producer({ idempotent: true, compress: true })
    return this.#producer
  }

  async #createTopics(): Promise<void> {
    const admin = await this.#kafka.admin()
    try {
      const created = await admin.ensureTopics(
        Object.values(this.#options.topics).map((topic) => ({
          topic,
          partitions: this.#options.partitions ?? DEFAULT_KAFKA_PARTITIONS,
          replicationFactor: this.#options.replicationFactor ?? -1,
        })),
      )
      if (created.length > 0) this.#log.info({ topics: created }, 'created topics')
      this.#topicsReady = true
    } finally {
      await admin.close().catch(() => undefined)
    }
  }

  async #send(envelopes: readonly Envelope[]): Promise<void> {
    const producer = await this.#producerReady()
    const byTopic = new Map<string, OutgoingMessage[]>()
    for (const envelope of envelopes) {
      const topic = this.#options.topics[envelope.s]
      const messages = byTopic.get(topic) ?? []
      messages.push({ key: envelope.k, value: envelope.v, headers: eventHeaders(EVENT_TYPES[envelope.s], SCHEMA_VERSIONS[envelope.s], envelope.i) })
      byTopic.set(topic, messages)
    }
    const send = producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })))
    const timeout = sleep(SEND_TIMEOUT_MS, 'timeout' as const, { ref: false })
    if ((await Promise.race([send.then(() => 'sent' as const), timeout])) === 'timeout') {
      send.catch(() => undefined)
      throw new Error(`broker did not acknowledge within ${SEND_TIMEOUT_MS} ms`)
    }
    this.#stats.published += envelopes.length
  }

  #succeeded(): void {
    if (this.#failures > 0) this.#log.warn({ after: this.#failures }, 'broker reachable again')
    this.#failures = 0
  }

  async #failed(err: unknown): Promise<void> {
    this.#stats.retried += 1
    this.#failures += 1
    if (this.#failures === 1) this.#log.error({ err: (err as Error).message, outboxBytes: this.#outbox.bytes }, 'publishing failed: events go to the outbox until the broker is back')
    // A fresh producer after a failure: the broker may have lost the idempotent producer's state.
    const producer = this.#producer
    this.#producer = undefined
    await producer?.close().catch(() => undefined)
    if (this.#stopping) return
    const backoff = backoffDelay(this.#failures, { baseMs: 100, maxMs: MAX_BACKOFF_MS })
    // New events do not cut the wait short (they would make a tight retry loop); closing does.
    await Promise.race([sleep(backoff, undefined, { ref: false }), this.#closed])
  }
}
