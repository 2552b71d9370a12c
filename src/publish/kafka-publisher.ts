import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { backoffDelay } from '../retry/backoff.ts'
import { eventSinkUnavailable } from '../errors/errors.ts'
import { DEFAULT_EVENT_DURABILITY, type EventDurability } from './event-durability.ts'
import type { EventSink, SinkStats, SinkStatus } from './event-sink.ts'
import type { Stream } from './events.ts'
import { KafkaSender, type Envelope, type KafkaSenderOptions } from './kafka-sender.ts'
import { Outbox } from './outbox.ts'
import { SequenceFile } from './sequence-file.ts'

export { DEFAULT_KAFKA_PARTITIONS } from './kafka-sender.ts'
export const DEFAULT_MAX_QUEUED = 10_000
export const DEFAULT_LINGER_MS = 5
export const DEFAULT_MAX_BACKOFF_MS = 5_000
/** The sequence file in the outbox directory (see `SequenceFile`). */
export const SEQUENCE_FILE = 'sequence'
const BATCH = 500
/** Event ids acknowledged after their copy went to the outbox, remembered to skip that copy. */
const MAX_SKIPPED_IDS = 10 * BATCH

export interface KafkaPublisherOptions extends KafkaSenderOptions {
  readonly outboxDir: string
  readonly outboxMaxBytes?: number
  /** Records waiting in memory; beyond, new records are dropped and counted. */
  readonly maxQueued?: number
  readonly lingerMs?: number
  readonly durability?: EventDurability
  /** Longest pause between attempts while the broker fails (tests shrink it, with the sender's deadlines). */
  readonly maxBackoffMs?: number
}

/** An event in memory; `settled` once it is on disk (or dropped and counted), or acknowledged. */
interface Pending {
  readonly envelope: Envelope
  readonly at: number
  settled: boolean
}

export interface PublisherStats {
  readonly published: number
  readonly retried: number
  readonly spilled: number
  readonly replayed: number
  readonly dropped: number
  /** Records in memory only: neither in the outbox nor acknowledged (the batch in flight included). */
  readonly queued: number
  readonly outboxBytes: number
  /** Accepted by an earlier process and lost when it crashed (found at start). */
  readonly lost: number
  /** Broker connections open now. */
  readonly connections: number
}

/**
 * Publishes events to Kafka without ever blocking the caller or losing a record silently.
 * `write` only queues in memory (or, write-ahead, appends to the outbox). One loop sends batches
 * with an idempotent producer (acks from all in-sync replicas, gzip). Records reach the on-disk
 * outbox when a send fails, when they have waited `flushMs` (a send under way included: its batch
 * is copied there), or when `flushRecords` wait; while the outbox holds anything, new records go
 * behind it, and the loop delivers it first — removing records only after the broker
 * acknowledged them. Delivery is at least once from the moment a record is in the outbox (or
 * acknowledged); a consumer may see a record twice, with the same event id. Every step that waits
 * for the broker has a deadline, and `close` cuts them all short at its own.
 */
export class KafkaPublisher {
  readonly #options: KafkaPublisherOptions
  readonly #durability: EventDurability
  readonly #log: Logger
  readonly #sender: KafkaSender
  readonly #outbox: Outbox
  #sequence: SequenceFile | undefined
  #queue: Pending[] = []
  /** The batch being sent from memory. */
  #inFlight: readonly Pending[] = []
  /** Records in memory and not yet settled (queue and the batch in flight). */
  #unsettled = 0
  readonly #skip = new Set<string>()
  #wake: (() => void) | undefined
  #loop: Promise<void> | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #syncTimer: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined
  #closed = false
  /** Set once close has waited long enough: every step under way is cut short. */
  #stopping = false
  #closeSignal: () => void = () => undefined
  readonly #closeStarted = new Promise<void>((resolve) => (this.#closeSignal = resolve))
  #abortSignal: () => void = () => undefined
  readonly #aborted = new Promise<'aborted'>((resolve) => (this.#abortSignal = () => resolve('aborted')))
  #failures = 0
  #droppedSinceLog = 0
  #diskFailing = false
  /** The outbox holds a backlog (spilled, or left by an earlier run): say when it is delivered. */
  #backlog = false
  #stats = { published: 0, retried: 0, spilled: 0, replayed: 0, dropped: 0, lost: 0 }

  constructor(options: KafkaPublisherOptions) {
    this.#options = options
    this.#durability = options.durability ?? DEFAULT_EVENT_DURABILITY
    this.#log = options.logger.child({ sink: 'kafka' })
    this.#sender = new KafkaSender({ ...options, logger: this.#log }, this.#aborted)
    this.#outbox = new Outbox({ dir: options.outboxDir, ...(options.outboxMaxBytes === undefined ? {} : { maxBytes: options.outboxMaxBytes }) })
  }

  /**
   * Opens the outbox (what an earlier process left is delivered first) and the sequence file (what
   * it lost is counted and logged), and starts the loop, which creates the topics and connects at
   * once; never waits for the broker.
   */
  async start(): Promise<void> {
    await this.#outbox.open()
    const opened = SequenceFile.open(join(this.#options.outboxDir, SEQUENCE_FILE), (err) =>
      this.#log.error({ err }, 'could not write the sequence file: loss counts after a crash are unreliable'),
    )
    this.#sequence = opened.sequence
    this.#stats.lost = opened.lost
    if (opened.unreadable) this.#log.warn({ dir: this.#options.outboxDir }, 'sequence file unreadable: cannot tell whether the previous process lost events')
    if (opened.lost > 0)
      this.#log.warn(
        { lost: opened.lost, dir: this.#options.outboxDir },
        'events lost: the previous process stopped with events accepted but not yet in the outbox or at the broker',
      )
    if (!this.#outbox.isEmpty) this.#log.warn({ outboxBytes: this.#outbox.bytes }, 'outbox holds undelivered events from an earlier run; delivering them first')
    this.#backlog = !this.#outbox.isEmpty
    this.#syncTimer = setInterval(() => this.#syncDisk(), this.#durability.flushMs)
    this.#syncTimer.unref()
    this.#loop = this.#run()
  }

  /** A sink of one stream, for the code that produces its events; `event`: the type and version of events that are not the stream's own. */
  sink<T extends { readonly eventId: string }>(stream: Stream, keyOf: (record: T) => string, event?: Envelope['t']): EventSink<T> {
    const envelope = (record: T, q: number): Envelope => ({
      s: stream,
      k: keyOf(record),
      i: record.eventId,
      v: JSON.stringify(record),
      q,
      ...(event ? { t: event } : {}),
    })
    return {
      kind: 'kafka',
      write: (record) => this.#accept((q) => envelope(record, q)),
      writeDurable: (record) => this.#writeDurable((q) => envelope(record, q)),
      stats: () => this.#sinkStats(),
      status: () => this.status(),
      close: () => this.close(),
    }
  }

  stats(): PublisherStats {
    const { lost, ...counts } = this.#stats
    return { ...counts, queued: this.#unsettled, outboxBytes: this.#outbox.bytes, lost, connections: this.#sender.connections }
  }

  status(): SinkStatus {
    const outboxBytes = this.#outbox.bytes
    if (outboxBytes > 0) return { kind: 'kafka', state: 'spilling', outboxBytes }
    if (!this.#sender.connected) return { kind: 'kafka', state: 'disconnected', outboxBytes }
    return { kind: 'kafka', state: this.#queue.length > BATCH ? 'buffering' : 'connected', outboxBytes }
  }

  /**
   * Sends what is queued while the broker answers, for most of `timeoutMs`; then cuts every step
   * short, closes every broker connection and keeps the rest in the outbox. Resolves within
   * `timeoutMs` (plus a disk write), whatever the broker does.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.#closing ??= this.#close(timeoutMs)
    return this.#closing
  }

  async #close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    this.#wake?.()
    this.#closeSignal()
    // Most of the time for the broker; the rest to cut short, spill and sync.
    const brokerMs = Math.max(0, timeoutMs - Math.min(500, timeoutMs / 4))
    const drained = (await Promise.race([this.#loop?.then(() => true), sleep(brokerMs, false, { ref: false })])) !== false
    if (!drained)
      this.#log.warn({ timeoutMs, outboxBytes: this.#outbox.bytes, queued: this.#queue.length }, 'broker too slow at shutdown: keeping the rest in the outbox')
    this.#stopping = true
    this.#abortSignal()
    this.#wake?.()
    // A clean goodbye when the broker answered; none when it did not (it would only wait). Then
    // whatever still waits on the broker fails: no connection, no timer outlives the close.
    await this.#sender.close(drained ? deadline - Date.now() : 0)
    await this.#loop
    clearTimeout(this.#flushTimer)
    clearInterval(this.#syncTimer)
    // Nothing in memory survives the process: it goes to disk.
    this.#spillMemory()
    this.#closed = true
    this.#logDrops()
    await this.#outbox.close()
    this.#sequence?.close()
  }

  #sinkStats(): SinkStats {
    return { written: this.#stats.published, dropped: this.#stats.dropped, buffered: this.#unsettled, lost: this.#stats.lost }
  }

  #accept(make: (q: number) => Envelope): void {
    const sequence = this.#sequence
    if (this.#closed || !sequence) {
      this.#drop(1)
      return
    }
    if (this.#durability.mode === 'write-ahead' || this.#closing !== undefined) {
      // On disk before `write` returns: no crash can lose it. Behind whatever still waits in memory.
      this.#spillMemory()
      this.#append([make(sequence.acceptSettled())])
      this.#wake?.()
      return
    }
    if (this.#queue.length >= (this.#options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      this.#drop(1)
      return
    }
    this.#queue.push({ envelope: make(sequence.accept()), at: Date.now(), settled: false })
    this.#unsettled += 1
    if (this.#unsettled >= this.#durability.flushRecords) this.#spillMemory()
    else this.#armFlush()
    this.#wake?.()
  }

  async #writeDurable(make: (q: number) => Envelope): Promise<void> {
    const sequence = this.#sequence
    if (this.#closed || !sequence) throw eventSinkUnavailable('kafka', 'the sink is closed')
    // Behind everything accepted before it, as the stream's order wants.
    this.#spillMemory()
    let taken: number
    try {
      taken = this.#outbox.append([JSON.stringify(make(sequence.acceptSettled()))])
    } catch (err) {
      throw eventSinkUnavailable('kafka', `writing the outbox failed (${(err as Error).message})`, err)
    }
    if (taken === 0) throw eventSinkUnavailable('kafka', `the outbox is full (${this.#outbox.bytes} bytes undelivered)`)
    this.#wake?.()
    try {
      await this.#outbox.sync()
    } catch (err) {
      throw eventSinkUnavailable('kafka', `fsync of the outbox failed (${(err as Error).message})`, err)
    }
  }

  /** Appends to the outbox; what it refuses (full, disk error) is dropped, counted and logged. */
  #append(envelopes: readonly Envelope[]): number {
    let taken = 0
    try {
      taken = this.#outbox.append(envelopes.map((envelope) => JSON.stringify(envelope)))
      this.#diskFailing = false
    } catch (err) {
      if (!this.#diskFailing) this.#log.error({ err, dir: this.#options.outboxDir }, 'could not write to the outbox')
      this.#diskFailing = true
    }
    if (taken < envelopes.length) this.#drop(envelopes.length - taken)
    return taken
  }

  /**
   * Moves every unsettled record in memory to the outbox, in order: the batch in flight first (a
   * copy; if its send succeeds after all, the copy is skipped), then the queue. Synchronous.
   */
  #spillMemory(): void {
    const pending = [...this.#inFlight.filter((entry) => !entry.settled), ...this.#queue]
    this.#queue = []
    if (pending.length === 0) return
    for (const entry of pending) entry.settled = true
    this.#unsettled -= pending.length
    this.#stats.spilled += this.#append(pending.map((entry) => entry.envelope))
    this.#sequence?.settle(pending.length)
    this.#backlog = true
    this.#wake?.()
  }

  /** Schedules the check that keeps any record from staying in memory only longer than `flushMs`. */
  #armFlush(): void {
    if (this.#flushTimer !== undefined || this.#unsettled === 0 || this.#closed) return
    const oldest = this.#inFlight.find((entry) => !entry.settled)?.at ?? this.#queue[0]?.at
    if (oldest === undefined) return
    this.#flushTimer = setTimeout(
      () => {
        this.#flushTimer = undefined
        const first = this.#inFlight.find((entry) => !entry.settled)?.at ?? this.#queue[0]?.at
        if (first !== undefined && Date.now() - first >= this.#durability.flushMs) this.#spillMemory()
        this.#armFlush()
      },
      Math.max(0, oldest + this.#durability.flushMs - Date.now()),
    )
    this.#flushTimer.unref()
  }

  /** What write-ahead appends and spills wrote reaches stable storage at most `flushMs` later. */
  #syncDisk(): void {
    this.#sequence?.flush()
    this.#outbox.sync().catch((err: unknown) => this.#log.error({ err, dir: this.#options.outboxDir }, 'fsync of the outbox failed'))
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
          await this.#deliverOutbox()
          continue
        }
        if (this.#queue.length === 0) {
          if (this.#closing !== undefined) return
          if (!this.#sender.connected) {
            // Idle and not connected (at start, or after a failure): create the topics and connect
            // now rather than on the first event, so topics exist as soon as the gateway runs.
            await this.#sender.ready()
            this.#succeeded()
            continue
          }
          await new Promise<void>((resolve) => (this.#wake = resolve))
          this.#wake = undefined
          continue
        }
        if (this.#closing === undefined && this.#queue.length < BATCH) await Promise.race([sleep(this.#options.lingerMs ?? DEFAULT_LINGER_MS), this.#aborted])
        await this.#sendFromMemory()
      } catch (err) {
        if (this.#stopping) return
        await this.#failed(err)
      }
    }
  }

  async #deliverOutbox(): Promise<void> {
    // Keep order: whatever waits in memory goes behind the outbox.
    this.#spillMemory()
    const batch = await this.#outbox.peek(BATCH)
    const envelopes = batch.lines.flatMap((line) => this.#parse(line)).filter((envelope) => !this.#skip.delete(envelope.i))
    if (envelopes.length > 0) await this.#sender.send(envelopes)
    this.#stats.published += envelopes.length
    await this.#outbox.ack(batch.next)
    this.#stats.replayed += envelopes.length
    if (this.#backlog && this.#outbox.isEmpty) {
      this.#backlog = false
      this.#log.info({ replayed: this.#stats.replayed }, 'outbox delivered')
    }
    this.#succeeded()
  }

  async #sendFromMemory(): Promise<void> {
    const batch = this.#queue.splice(0, BATCH)
    this.#inFlight = batch
    try {
      await this.#sender.send(batch.map((entry) => entry.envelope))
      this.#stats.published += batch.length
      let settled = 0
      for (const entry of batch) {
        if (!entry.settled) {
          entry.settled = true
          settled += 1
        } else if (this.#skip.size < MAX_SKIPPED_IDS) this.#skip.add(entry.envelope.i)
      }
      this.#unsettled -= settled
      this.#sequence?.settle(settled)
      this.#succeeded()
    } catch (err) {
      // Nothing newer reached the outbox before these (a spill copies the batch in flight first).
      const unsettled = batch.filter((entry) => !entry.settled)
      for (const entry of unsettled) entry.settled = true
      this.#unsettled -= unsettled.length
      this.#stats.spilled += this.#append(unsettled.map((entry) => entry.envelope))
      this.#sequence?.settle(unsettled.length)
      this.#backlog ||= unsettled.length > 0
      throw err
    } finally {
      this.#inFlight = []
      this.#armFlush()
    }
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

  #succeeded(): void {
    if (this.#failures > 0) this.#log.warn({ after: this.#failures }, 'broker reachable again')
    this.#failures = 0
  }

  async #failed(err: unknown): Promise<void> {
    this.#stats.retried += 1
    this.#failures += 1
    if (this.#failures === 1)
      this.#log.error({ err: (err as Error).message, outboxBytes: this.#outbox.bytes }, 'publishing failed: events go to the outbox until the broker is back')
    // Closing the failed producer closes its connections, answered or not (issue 14: one was
    // leaked per attempt before).
    await this.#sender.reset()
    if (this.#stopping) return
    const backoff = backoffDelay(this.#failures, { baseMs: 100, maxMs: this.#options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS })
    // New events do not cut the wait short (they would make a tight retry loop); closing does.
    await Promise.race([sleep(backoff, undefined, { ref: false }), this.#closeStarted])
  }
}
