import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Comparison } from '../compare/comparison.ts'
import type { GatewayConfig } from '../config/types.ts'
import type { EventDurability } from './event-durability.ts'
import type { EventSink, SinkStatus } from './event-sink.ts'
import type { AuthorityChanged, Stream, TriageActionEvent } from './events.ts'
import { JsonlSink } from './jsonl-sink.ts'
import { KafkaPublisher, type PublisherStats } from './kafka-publisher.ts'
import { SHADOW_SKIPS_EVENT_TYPE, SHADOW_SKIPS_SCHEMA_VERSION, type ShadowSkips } from './shadow-skips.ts'

export const COMPARISONS_DIR = 'comparisons'
export const AUTHORITY_CHANGES_DIR = 'authority-changes'
export const TRIAGE_ACTIONS_DIR = 'triage-actions'
export const OUTBOX_DIR = 'outbox'
/**
 * Processes that publish comparisons beside a running gateway: `ficus recompare` (replays) and
 * `ficus reconcile` (reconciliation runs). Each writes `comparisons-<name>.jsonl` in COMPARISONS_DIR
 * (which reports read with the gateway's files) or, with Kafka, through `outbox-<name>`: never a
 * file, an outbox or a loss count of the gateway's.
 */
export type SidecarPublisher = 'replay' | 'reconcile'

export interface KafkaSettings {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly topics: Readonly<Record<Stream, string>>
  readonly partitions: number | undefined
  readonly replicationFactor: number | undefined
  readonly outboxMaxBytes: number | undefined
  /** The topic of captured pairs (FICUS_TOPIC_CAPTURES); DEFAULT_CAPTURES_TOPIC when not given. */
  readonly capturesTopic?: string
}

/** The topic of captured pairs when FICUS_TOPIC_CAPTURES does not name one. */
export const DEFAULT_CAPTURES_TOPIC = 'ficus.captures.v1'

/** The sinks of the three event streams (the comparisons stream also carries the skip aggregates), and what the operator sees of them. */
export interface EventSinks {
  readonly comparisons: EventSink<Comparison>
  /** The skip aggregates: the same destination as the comparisons (their file, their topic), in the same order. */
  readonly shadowSkips: EventSink<ShadowSkips>
  readonly authorityChanges: EventSink<AuthorityChanged>
  readonly triageActions: EventSink<TriageActionEvent>
  status(): SinkStatus
  /**
   * Counters for metrics: `written`, `dropped`, `buffered`, `lost` (what the previous process lost
   * in a crash, found at start), and for Kafka `spilled`, `replayed`, `retried`.
   */
  counters(): Record<string, number>
  close(timeoutMs: number): Promise<void>
}

/**
 * Kafka (with its outbox in the data directory) when KAFKA_BROKERS is set; otherwise JSON-lines
 * files in the data directory. The one place that chooses.
 */
export async function openEventSinks(options: {
  kafka: KafkaSettings | undefined
  dataDir: string
  config: GatewayConfig
  logger: Logger
  /** FICUS_EVENTS_DURABILITY, FICUS_EVENTS_FLUSH_MS, FICUS_EVENTS_FLUSH_RECORDS (`readEventDurability`, in readSettings). */
  durability: EventDurability
  /**
   * A worker's own files (`ficus start --workers`): `-w<rank>` for ranks above 1, so no two
   * processes append to one file, sequence file or outbox (`comparisons-w2.jsonl`, `outbox-w2`).
   * Empty (the default) for a gateway of one process and for worker 1: the names of today.
   */
  fileSuffix?: string
}): Promise<EventSinks> {
  const { kafka, dataDir, config, logger, durability } = options
  const suffix = options.fileSuffix ?? ''
  if (!kafka) {
    // One file for both: skip aggregates sit between the comparisons they were counted beside.
    const comparisons = new JsonlSink<Comparison | ShadowSkips>({ dir: join(dataDir, COMPARISONS_DIR), prefix: `comparisons${suffix}`, logger, durability })
    const authorityChanges = new JsonlSink<AuthorityChanged>({
      dir: join(dataDir, AUTHORITY_CHANGES_DIR),
      prefix: `authority-changes${suffix}`,
      logger,
      durability,
    })
    const triageActions = new JsonlSink<TriageActionEvent>({ dir: join(dataDir, TRIAGE_ACTIONS_DIR), prefix: `triage-actions${suffix}`, logger, durability })
    const all = [comparisons, authorityChanges, triageActions]
    const sum = (field: 'written' | 'dropped' | 'buffered' | 'lost'): number => all.reduce((total, sink) => total + sink.stats()[field], 0)
    return {
      comparisons,
      shadowSkips: comparisons,
      authorityChanges,
      triageActions,
      status: () => comparisons.status(),
      counters: () => ({ written: sum('written'), dropped: sum('dropped'), buffered: sum('buffered'), lost: sum('lost') }),
      close: async () => {
        await Promise.all(all.map((sink) => sink.close()))
      },
    }
  }
  const publisher = new KafkaPublisher({
    brokers: kafka.brokers,
    clientId: kafka.clientId,
    topics: kafka.topics,
    ...(kafka.partitions === undefined ? {} : { partitions: kafka.partitions }),
    ...(kafka.replicationFactor === undefined ? {} : { replicationFactor: kafka.replicationFactor }),
    ...(kafka.outboxMaxBytes === undefined ? {} : { outboxMaxBytes: kafka.outboxMaxBytes }),
    outboxDir: join(dataDir, `${OUTBOX_DIR}${suffix}`),
    durability,
    logger,
  })
  await publisher.start()
  return {
    comparisons: publisher.sink<Comparison>('comparisons', comparisonKey(config)),
    // Keyed by slice: low volume (one event per slice and interval), and one slice's windows in order.
    shadowSkips: publisher.sink<ShadowSkips>('comparisons', (event) => event.slice, [SHADOW_SKIPS_EVENT_TYPE, SHADOW_SKIPS_SCHEMA_VERSION]),
    authorityChanges: publisher.sink<AuthorityChanged>('authority-changes', (event) => event.slice),
    // One signature's actions share a key, and so a partition and an order.
    triageActions: publisher.sink<TriageActionEvent>('triage-actions', (event) => event.signature),
    status: () => publisher.status(),
    counters: () => {
      const stats: PublisherStats = publisher.stats()
      return {
        written: stats.published,
        dropped: stats.dropped,
        buffered: stats.queued,
        lost: stats.lost,
        spilled: stats.spilled,
        replayed: stats.replayed,
        retried: stats.retried,
      }
    },
    close: (timeoutMs) => publisher.close(timeoutMs),
  }
}

/**
 * The message key of a comparison (docs/events.md): by default its entity key, or its request id
 * when it names no entity, so one slice's comparisons spread over every partition (and reporter);
 * the slice id for a slice with `eventKey: 'slice'` (one partition, one order). Comparisons of a
 * slice the config no longer has are keyed by request.
 */
export function comparisonKey(config: GatewayConfig): (record: Comparison) => string {
  const keys = new Map(config.slices.map((slice) => [slice.id, slice.eventKey]))
  return (record) => {
    const eventKey = keys.get(record.slice) ?? 'request'
    if (eventKey === 'slice') return record.slice
    if (eventKey === 'entity' && record.entityKey !== null) return record.entityKey
    // A request id is always set by the gateway; the event id covers a record made without one.
    return record.requestId === '' ? record.eventId : record.requestId
  }
}

/** A comparisons sink of its own, and how to flush and release it. */
export interface OwnComparisonSink {
  readonly sink: EventSink<Comparison>
  close(timeoutMs: number): Promise<void>
}

/**
 * The comparisons sink of a process that runs beside the gateway (`ficus recompare`, `ficus
 * reconcile`): the same destination — the comparisons topic, or the comparisons folder that reports
 * read — through files of its own (`comparisons-<name>.jsonl` with its own sequence file, or the
 * `outbox-<name>` outbox), so that it never shares a file, an outbox or a loss count with a running
 * gateway.
 */
export async function openSidecarSink(options: {
  name: SidecarPublisher
  kafka: KafkaSettings | undefined
  dataDir: string
  config: GatewayConfig
  logger: Logger
  durability: EventDurability
}): Promise<OwnComparisonSink> {
  const { name, kafka, dataDir, config, logger, durability } = options
  if (!kafka) {
    const sink = new JsonlSink<Comparison>({ dir: join(dataDir, COMPARISONS_DIR), prefix: `comparisons-${name}`, logger, durability })
    return { sink, close: () => sink.close() }
  }
  const publisher = new KafkaPublisher({
    brokers: kafka.brokers,
    clientId: `${kafka.clientId}-${name}`,
    topics: kafka.topics,
    ...(kafka.partitions === undefined ? {} : { partitions: kafka.partitions }),
    ...(kafka.replicationFactor === undefined ? {} : { replicationFactor: kafka.replicationFactor }),
    ...(kafka.outboxMaxBytes === undefined ? {} : { outboxMaxBytes: kafka.outboxMaxBytes }),
    outboxDir: join(dataDir, `outbox-${name}`),
    durability,
    logger,
  })
  await publisher.start()
  return { sink: publisher.sink<Comparison>('comparisons', comparisonKey(config)), close: (timeoutMs) => publisher.close(timeoutMs) }
}
