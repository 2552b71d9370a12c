import type { Logger } from 'pino'
import type { Comparison } from '../../compare/comparison.ts'
import { createKafkaClient, type ConsumedBatch, type ConsumerEvent, type GroupJoin, type KafkaGroupConsumer } from '../../kafka/index.ts'
import type { DiscrepancyRegister } from '../../register/discrepancy-register.ts'
import type { ReportStateStore } from './report-state.ts'
import { ComparisonAggregator } from '../report.ts'
import { SliceAggregate } from '../slice-aggregate.ts'

export const DEFAULT_REPORTER_GROUP = 'ficus-reporter'
/** How long the group waits for a reporter's heartbeat before it gives the reporter's partitions to another. */
export const REPORTER_SESSION_TIMEOUT_MS = 10_000

/** Where the reporter's consumer is in its group. */
export const CONSUMER_PHASES = ['starting', 'joined', 'rebalancing', 'crashed', 'stopped'] as const
export type ConsumerPhase = (typeof CONSUMER_PHASES)[number]

/** The consumer's real state, as its client reported it (times in ms since the epoch). */
export interface ConsumerState {
  readonly phase: ConsumerPhase
  /** When the phase began. */
  readonly since: number
  readonly memberId: string | null
  /** Partitions of the topic the group gave this member at its last join. */
  readonly assigned: readonly number[]
  readonly lastBatchAt: number | null
  readonly lastHeartbeatAt: number | null
  /** The last crash: its cause and whether the client restarts the consumer by itself. */
  readonly crash: { readonly error: Error; readonly restarting: boolean; readonly at: number } | null
  /** The partition's end as the last fetch of it saw, per partition. */
  readonly highWatermarks: ReadonlyMap<number, bigint>
}

export interface ReporterOptions {
  readonly brokers: readonly string[]
  readonly topic: string
  readonly groupId: string
  readonly store: ReportStateStore
  readonly logger: Logger
  /** Evidence older than this many days is dropped from the saved state (the longest readiness window, and a day). */
  readonly evidenceDays?: number
  /** The shared discrepancy register, fed with every comparison counted (multi-instance: the gateways do not feed it). */
  readonly register?: Pick<DiscrepancyRegister, 'record'>
  /** Kafka client id: `ficus-reporter-<instance>`, so that group tools tell reporters apart. Default `ficus-reporter`. */
  readonly clientId?: string
}

interface PartitionProgress {
  readonly aggregator: ComparisonAggregator
  nextOffset: bigint
  /** Counted, but not yet given to the register: it gets them once their counts are saved. */
  readonly unfed: Comparison[]
}

/**
 * The long-running report consumer: a Kafka consumer group (several reporters share the
 * partitions) that keeps per-partition aggregates of the comparisons topic. After every batch it
 * saves a partition's aggregates together with the offset they are complete up to, in one write;
 * when it (or another member) takes a partition over, it loads that state and skips what it
 * already counted — a restart never counts a comparison twice.
 */
export class ReporterService {
  readonly #options: ReporterOptions
  readonly #consumer: KafkaGroupConsumer
  readonly #partitions = new Map<number, PartitionProgress>()
  readonly #log: Logger
  #counted = 0
  #state: ConsumerState = {
    phase: 'starting',
    since: Date.now(),
    memberId: null,
    assigned: [],
    lastBatchAt: null,
    lastHeartbeatAt: null,
    crash: null,
    highWatermarks: new Map(),
  }
  #closing = false

  constructor(options: ReporterOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'reporter' })
    // With a logger, the client's own warnings and errors reach the log (at warn level).
    const kafka = createKafkaClient({
      clientId: options.clientId ?? 'ficus-reporter',
      brokers: options.brokers,
      connectionTimeoutMs: 3_000,
      logger: options.logger,
    })
    this.#consumer = kafka.consumer({ groupId: options.groupId, sessionTimeoutMs: REPORTER_SESSION_TIMEOUT_MS, heartbeatIntervalMs: 2_000 })
  }

  /** The consumer's state now: phase, assignment, last batch and heartbeat, last crash. */
  get consumerState(): ConsumerState {
    return this.#state
  }

  #watch(): void {
    this.#consumer.onGroupJoin((join: GroupJoin) => {
      const assigned = [...(join.assigned[this.#options.topic] ?? [])].sort((a, b) => a - b)
      this.#state = { ...this.#state, phase: 'joined', since: Date.now(), memberId: join.memberId, assigned, crash: null }
      this.#log.info({ memberId: join.memberId, assigned }, 'reporter joined its group')
    })
    this.#consumer.onCrash((error, restarting) => {
      this.#state = { ...this.#state, phase: 'crashed', since: Date.now(), crash: { error, restarting, at: Date.now() } }
      this.#log.error({ err: error, restarting }, restarting ? 'reporter consumer crashed; its client restarts it' : 'reporter consumer crashed and stopped')
    })
    this.#consumer.onEvent((event: ConsumerEvent) => {
      const now = Date.now()
      if (event.kind === 'heartbeat') this.#state = { ...this.#state, lastHeartbeatAt: now }
      else if (event.kind === 'batch') {
        const highWatermarks = new Map(this.#state.highWatermarks).set(event.partition, event.highWatermark)
        this.#state = { ...this.#state, lastBatchAt: now, highWatermarks }
      } else if (event.kind === 'rebalancing') this.#state = { ...this.#state, phase: 'rebalancing', since: now, assigned: [] }
      // A crash stops the consumer first: the crash, reported next, is the phase that tells why.
      else if (this.#state.phase !== 'crashed') {
        this.#state = { ...this.#state, phase: 'stopped', since: now, assigned: [] }
        if (!this.#closing) this.#log.warn('reporter consumer stopped')
      }
    })
  }

  /** Comparisons counted by this process since it started. */
  get counted(): number {
    return this.#counted
  }

  async start(): Promise<void> {
    this.#watch()
    // After a rebalance, partitions are taken up again from their saved state, not from memory.
    this.#consumer.onGroupJoin(() => this.#partitions.clear())
    await this.#consumer.start([this.#options.topic], (batch) => this.#batch(batch))
    this.#log.info({ topic: this.#options.topic, group: this.#options.groupId }, 'reporter consuming')
  }

  async stop(): Promise<void> {
    this.#closing = true
    await this.#consumer.close()
  }

  async #progress(partition: number): Promise<PartitionProgress> {
    const known = this.#partitions.get(partition)
    if (known) return known
    const saved = await this.#options.store.load(this.#options.topic, partition)
    const aggregator = new ComparisonAggregator()
    for (const json of saved?.slices ?? []) aggregator.merge(SliceAggregate.fromJSON(json))
    const progress = { aggregator, nextOffset: BigInt(saved?.nextOffset ?? '0'), unfed: [] }
    this.#partitions.set(partition, progress)
    if (saved) this.#log.info({ partition, nextOffset: saved.nextOffset }, 'resuming a partition from its saved state')
    return progress
  }

  async #batch(batch: ConsumedBatch): Promise<void> {
    const progress = await this.#progress(batch.partition)
    let last: bigint | undefined
    for (const message of batch.messages) {
      if (!batch.isRunning() || batch.isStale()) break
      const offset = message.offset
      last = offset
      // Counted before a restart or a rebalance: the saved state already holds it.
      if (offset < progress.nextOffset) continue
      try {
        const record = JSON.parse(message.value?.toString('utf8') ?? '') as Comparison
        progress.aggregator.add(record)
        if (this.#options.register) progress.unfed.push(record)
        this.#counted += 1
      } catch {
        this.#log.warn({ partition: batch.partition, offset: String(message.offset) }, 'skipped a message that is not a comparison')
      }
      progress.nextOffset = offset + 1n
    }
    if (last === undefined) return
    // Readiness looks back `windowDays`: hourly evidence older than the longest window is not kept.
    const keepFrom = Date.now() - (this.#options.evidenceDays ?? 8) * 24 * 3_600_000
    for (const versions of progress.aggregator.slices.values()) for (const aggregate of versions.values()) aggregate.pruneBefore(keepFrom)
    const nextOffset = progress.nextOffset.toString()
    await this.#options.store.save({
      topic: this.#options.topic,
      partition: batch.partition,
      nextOffset,
      slices: [...progress.aggregator.slices.values()].flatMap((versions) => [...versions.values()].map((aggregate) => aggregate.toJSON())),
    })
    // The register is fed once the counts and their offset are saved: never twice, whether the batch
    // comes again (counted already: skipped) or the partition is taken up again from the saved state
    // (what was not saved is counted, and fed, again). A crash between the save and this leaves those
    // comparisons out of the register, never out of the evidence.
    for (const record of progress.unfed.splice(0)) this.#options.register?.record(record)
    await this.#consumer.commit([{ topic: this.#options.topic, partition: batch.partition, offset: progress.nextOffset }])
    await batch.heartbeat()
  }
}
