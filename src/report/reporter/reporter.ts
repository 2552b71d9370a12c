import type { Logger } from 'pino'
import type { Comparison } from '../../compare/comparison.ts'
import { createKafkaClient, type ConsumedBatch, type ConsumerEvent, type GroupJoin, type KafkaGroupConsumer } from '../../kafka/index.ts'
import type { DiscrepancyRegister } from '../../register/discrepancy-register.ts'
import type { ReportStateStore } from './report-state.ts'
import { RecentEventIds } from '../event-dedup.ts'
import { ComparisonAggregator } from '../report.ts'
import { readEvent } from '../evidence-event.ts'
import { isShadowSkips } from '../../publish/shadow-skips.ts'
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

/**
 * How many recent event ids each partition's saved state keeps, to count a redelivered comparison
 * once across rebalances, restarts and takeovers. The publisher resends a comparison (same event id,
 * new offset) when a send's acknowledgement is lost: the copy goes out in the next send, or in the
 * outbox replay after a broker outage or a gateway restart, ahead of that gateway's new records. So
 * the copy follows its original within what the other gateways publish to the partition meanwhile
 * (plus one batch of 500): 50 000 ids cover 50 s of a partition at 1 000 comparisons/s (8 min at
 * 100/s). A copy older than the window is counted again. The ids take about 2 MB per partition in
 * Redis; a write appends only the batch's new ids.
 */
export const DEFAULT_DEDUP_WINDOW = 50_000

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
  /** Recent event ids kept per partition (DEFAULT_DEDUP_WINDOW). */
  readonly dedupWindow?: number
  /** Kafka client id: `ficus-reporter-<instance>`, so that group tools tell reporters apart. Default `ficus-reporter`. */
  readonly clientId?: string
}

interface PartitionProgress {
  readonly aggregator: ComparisonAggregator
  nextOffset: bigint
  /** The epoch of this reporter's claim of the partition: its writes are refused once another claim follows. */
  readonly epoch: number
  readonly recent: RecentEventIds
  /** Counted since the last write: appended to the saved window with it. */
  readonly newIds: string[]
  /** Counted, but not yet given to the register: it gets them once their counts are saved. */
  readonly unfed: Comparison[]
  /** Counted and copies dropped since the last write: added to the process's figures once saved (a refused or failed write's batch is counted again). */
  unsaved: { counted: number; duplicates: number }
  /** `fresh`: no batch since the claim (the first may start past the saved offset); `sought`: read again from the saved offset. */
  phase: 'fresh' | 'sought' | 'running'
}

/**
 * The long-running report consumer: a Kafka consumer group (several reporters share the
 * partitions) that keeps per-partition aggregates of the comparisons topic. Counting is exactly
 * once over at-least-once delivery:
 *
 * - When it takes a partition up (after every group join) it claims it in the store, which answers
 *   the saved aggregates, the offset they are complete up to and the recent event ids (a window of
 *   `dedupWindow`), under a new fencing epoch.
 * - It resumes from the earlier of the saved offset and the group's committed one (seeking back
 *   when Kafka starts it later): what it sees again is skipped by offset or by event id.
 * - A comparison whose event id is in the window is a redelivered copy: dropped and counted in
 *   `duplicatesDropped`.
 * - After every batch it writes aggregates, offset and new ids in one fenced write, then commits
 *   the offset. A write is refused when another reporter claimed the partition since, or when the
 *   saved offset is later (a stale owner, e.g. one frozen past its session timeout): the refusal
 *   is logged and counted in `fencedWrites`, and the reporter drops its state of the partition and
 *   leaves it alone until its next group join. A refusal under an epoch older than its own means
 *   the store lost the state (Redis restarted empty): it claims the partition again and reads it
 *   again from the store's offset (the topic's start when nothing is left).
 */
export class ReporterService {
  readonly #options: ReporterOptions
  readonly #consumer: KafkaGroupConsumer
  readonly #partitions = new Map<number, PartitionProgress>()
  /** Partitions whose write was refused: not worked on until the next group join. */
  readonly #fenced = new Set<number>()
  readonly #log: Logger
  readonly #window: number
  #memberId = ''
  #counted = 0
  #duplicates = 0
  #fencedWrites = 0
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
    this.#window = options.dedupWindow ?? DEFAULT_DEDUP_WINDOW
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

  /** Comparisons this process counted and saved since it started (redelivered copies not included). */
  get counted(): number {
    return this.#counted
  }

  /** Redelivered copies (an event id counted already) this process dropped, in batches it saved. */
  get duplicatesDropped(): number {
    return this.#duplicates
  }

  /** Writes of this process the store refused: it was no longer the partition's owner. */
  get fencedWrites(): number {
    return this.#fencedWrites
  }

  async start(): Promise<void> {
    this.#watch()
    // After a rebalance, partitions are claimed again and taken up from their saved state, not from memory.
    this.#consumer.onGroupJoin((join) => {
      this.#partitions.clear()
      this.#fenced.clear()
      this.#memberId = join.memberId
    })
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
    const claim = await this.#options.store.claim(this.#options.topic, partition, this.#memberId)
    const saved = claim.state
    const aggregator = new ComparisonAggregator()
    for (const json of saved?.slices ?? []) aggregator.merge(SliceAggregate.fromJSON(json))
    const progress: PartitionProgress = {
      aggregator,
      nextOffset: BigInt(saved?.nextOffset ?? '0'),
      epoch: claim.epoch,
      recent: new RecentEventIds(this.#window, claim.recentIds),
      newIds: [],
      unfed: [],
      unsaved: { counted: 0, duplicates: 0 },
      phase: 'fresh',
    }
    this.#partitions.set(partition, progress)
    if (saved)
      this.#log.info(
        { partition, nextOffset: saved.nextOffset, recentIds: progress.recent.size, epoch: claim.epoch },
        'resuming a partition from its saved state',
      )
    return progress
  }

  async #batch(batch: ConsumedBatch): Promise<void> {
    if (this.#fenced.has(batch.partition)) return
    const progress = await this.#progress(batch.partition)
    const first = batch.messages[0]?.offset
    if (first === undefined) return
    if (progress.phase === 'fresh' && first > progress.nextOffset) {
      // Kafka starts at the committed offset; the saved state may end earlier (its owner's commit
      // got ahead of a refused write, or failed before it): read again from the earlier one.
      progress.phase = 'sought'
      this.#log.info(
        { partition: batch.partition, from: progress.nextOffset.toString(), committed: first.toString() },
        'reading a partition again from its saved offset',
      )
      this.#consumer.seek(this.#options.topic, batch.partition, progress.nextOffset)
      return
    }
    if (progress.phase === 'sought' && first > progress.nextOffset) {
      // Sought back, and still later: those records are no longer on the topic (retention).
      this.#log.warn(
        { partition: batch.partition, from: progress.nextOffset.toString(), to: first.toString() },
        'records between the saved offset and the first on the topic are gone',
      )
    }
    progress.phase = 'running'
    const before = progress.nextOffset
    for (const message of batch.messages) {
      if (!batch.isRunning() || batch.isStale()) break
      // Counted before a restart or a rebalance: the saved state already holds it.
      if (message.offset < progress.nextOffset) continue
      this.#count(progress, batch.partition, message)
      progress.nextOffset = message.offset + 1n
    }
    if (progress.nextOffset === before) return
    if (!(await this.#save(progress, batch.partition))) return
    // The register is fed once the counts and their offset are saved: never twice, whether the batch
    // comes again (counted already: skipped) or the partition is taken up again from the saved state
    // (what was not saved is counted, and fed, again). A crash between the save and this leaves those
    // comparisons out of the register, never out of the evidence.
    for (const record of progress.unfed.splice(0)) this.#options.register?.record(record)
    await this.#consumer.commit([{ topic: this.#options.topic, partition: batch.partition, offset: progress.nextOffset }])
    await batch.heartbeat()
  }

  #count(progress: PartitionProgress, partition: number, message: ConsumedBatch['messages'][number]): void {
    let record: ReturnType<typeof readEvent>
    try {
      record = readEvent(JSON.parse(message.value?.toString('utf8') ?? ''))
    } catch {
      record = 'invalid'
    }
    if (record === 'invalid' || record === 'other') {
      // An event of a type this version does not know is passed over (a later release's), not counted as invalid.
      if (record === 'invalid') this.#log.warn({ partition, offset: String(message.offset) }, 'skipped a message that is not a comparison')
      return
    }
    if (record.eventId !== '') {
      if (progress.recent.has(record.eventId)) {
        progress.unsaved.duplicates += 1
        return
      }
      progress.recent.add(record.eventId)
      progress.newIds.push(record.eventId)
    }
    progress.aggregator.add(record)
    // Skip aggregates are counted (exactly once, by event id like a comparison); the register groups differing comparisons only.
    if (this.#options.register && !isShadowSkips(record)) progress.unfed.push(record)
    progress.unsaved.counted += 1
  }

  /** The fenced write of a partition's state; false (and the partition dropped) when refused. */
  async #save(progress: PartitionProgress, partition: number): Promise<boolean> {
    // Readiness looks back `windowDays`: hourly evidence older than the longest window is not kept.
    const keepFrom = Date.now() - (this.#options.evidenceDays ?? 8) * 24 * 3_600_000
    for (const versions of progress.aggregator.slices.values()) for (const aggregate of versions.values()) aggregate.pruneBefore(keepFrom)
    const write = {
      state: {
        topic: this.#options.topic,
        partition,
        nextOffset: progress.nextOffset.toString(),
        slices: [...progress.aggregator.slices.values()].flatMap((versions) => [...versions.values()].map((aggregate) => aggregate.toJSON())),
      },
      epoch: progress.epoch,
      newIds: progress.newIds,
      window: this.#window,
    }
    let result: Awaited<ReturnType<ReportStateStore['save']>>
    try {
      result = await this.#options.store.save(write)
    } catch (err) {
      // Whether or not the write got through, what is in memory is not known to be saved: the batch
      // comes again and finds the partition taken up afresh from the store, skipping what was saved.
      this.#partitions.delete(partition)
      throw err
    }
    if (result.saved) {
      progress.newIds.length = 0
      this.#counted += progress.unsaved.counted
      this.#duplicates += progress.unsaved.duplicates
      progress.unsaved = { counted: 0, duplicates: 0 }
      return true
    }
    this.#partitions.delete(partition)
    if (result.reason === 'claimed' && result.epoch < progress.epoch) {
      // Epochs only grow: an older one means the store lost the partition's state (a Redis that
      // restarted empty or from an older snapshot), not that another reporter claimed it. Claim it
      // again and read it again from the offset the store has now (its start when nothing is left).
      const fresh = await this.#progress(partition)
      fresh.phase = 'sought'
      this.#log.warn(
        { partition, epoch: progress.epoch, savedEpoch: result.epoch, from: fresh.nextOffset.toString() },
        'the saved state of a partition is gone; claiming it again and counting it from the topic',
      )
      this.#consumer.seek(this.#options.topic, partition, fresh.nextOffset)
      return false
    }
    this.#fencedWrites += 1
    this.#fenced.add(partition)
    this.#log.warn(
      {
        partition,
        reason: result.reason,
        epoch: progress.epoch,
        nextOffset: progress.nextOffset.toString(),
        savedEpoch: result.epoch,
        savedNextOffset: result.nextOffset,
        owner: result.owner,
      },
      'write refused: another reporter owns the partition now; its state here is dropped',
    )
    return false
  }
}
