import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Comparison } from '../compare/comparison.ts'
import type { GatewayConfig } from '../config/types.ts'
import type { EventDurability } from './event-durability.ts'
import type { EventSink, SinkStatus } from './event-sink.ts'
import type { AuthorityChanged, Stream } from './events.ts'
import { JsonlSink } from './jsonl-sink.ts'
import { KafkaPublisher, type PublisherStats } from './kafka-publisher.ts'

export const COMPARISONS_DIR = 'comparisons'
export const AUTHORITY_CHANGES_DIR = 'authority-changes'
export const OUTBOX_DIR = 'outbox'

export interface KafkaSettings {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly topics: Readonly<Record<Stream, string>>
  readonly partitions: number | undefined
  readonly replicationFactor: number | undefined
  readonly outboxMaxBytes: number | undefined
}

/** The sinks of both event streams, and what the operator sees of them. */
export interface EventSinks {
  readonly comparisons: EventSink<Comparison>
  readonly authorityChanges: EventSink<AuthorityChanged>
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
}): Promise<EventSinks> {
  const { kafka, dataDir, config, logger, durability } = options
  if (!kafka) {
    const comparisons = new JsonlSink<Comparison>({ dir: join(dataDir, COMPARISONS_DIR), prefix: 'comparisons', logger, durability })
    const authorityChanges = new JsonlSink<AuthorityChanged>({ dir: join(dataDir, AUTHORITY_CHANGES_DIR), prefix: 'authority-changes', logger, durability })
    return {
      comparisons,
      authorityChanges,
      status: () => comparisons.status(),
      counters: () => {
        const [a, b] = [comparisons.stats(), authorityChanges.stats()]
        return { written: a.written + b.written, dropped: a.dropped + b.dropped, buffered: a.buffered + b.buffered, lost: a.lost + b.lost }
      },
      close: async () => {
        await Promise.all([comparisons.close(), authorityChanges.close()])
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
    outboxDir: join(dataDir, OUTBOX_DIR),
    durability,
    logger,
  })
  await publisher.start()
  // One slice's comparisons share a key (and so a partition and an order), unless it asks for the entity key.
  const byEntity = new Set(config.slices.filter((slice) => slice.eventKey === 'entity').map((slice) => slice.id))
  return {
    comparisons: publisher.sink<Comparison>('comparisons', (record) =>
      byEntity.has(record.slice) && record.entityKey !== null ? record.entityKey : record.slice,
    ),
    authorityChanges: publisher.sink<AuthorityChanged>('authority-changes', (event) => event.slice),
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
