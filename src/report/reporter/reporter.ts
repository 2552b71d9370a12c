import type { Logger } from 'pino'
import type { Comparison } from '../../compare/comparison.ts'
import { createKafkaClient, type ConsumedBatch, type KafkaGroupConsumer } from '../../kafka/index.ts'
import type { DiscrepancyRegister } from '../../register/discrepancy-register.ts'
import type { ReportStateStore } from './report-state.ts'
import { ComparisonAggregator } from '../report.ts'
import { SliceAggregate } from '../slice-aggregate.ts'

export const DEFAULT_REPORTER_GROUP = 'ficus-reporter'

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

  constructor(options: ReporterOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'reporter' })
    const kafka = createKafkaClient({ clientId: `ficus-reporter`, brokers: options.brokers, connectionTimeoutMs: 3_000 })
    this.#consumer = kafka.consumer({ groupId: options.groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2_000 })
  }

  /** Comparisons counted by this process since it started. */
  get counted(): number {
    return this.#counted
  }

  get duplicatesDropped(): number {
    return 0
  }

  get fencedWrites(): number {
    return 0
  }

  async start(): Promise<void> {
    // After a rebalance, partitions are taken up again from their saved state, not from memory.
    this.#consumer.onGroupJoin((join) => {
      this.#partitions.clear()
      this.#log.info({ memberId: join.memberId, partitions: join.assigned[this.#options.topic] ?? [] }, 'reporter joined its group')
    })
    await this.#consumer.start([this.#options.topic], (batch) => this.#batch(batch))
    this.#log.info({ topic: this.#options.topic, group: this.#options.groupId }, 'reporter consuming')
  }

  async stop(): Promise<void> {
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
