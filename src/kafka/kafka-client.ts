/**
 * What Ficus needs of a Kafka client, in its own terms. Everything outside `src/kafka/` speaks to
 * Kafka through these interfaces only (imported from `src/kafka/index.ts`); `kafkajs-client.ts`
 * implements them with kafkajs 2.2.4 (unmaintained since 2023), so moving to a maintained client
 * is this folder's work alone. Offsets are bigints: exact, unlike numbers, and comparable, unlike
 * strings.
 */
import type { Logger } from 'pino'

export interface KafkaClientOptions {
  /** `host:port` of one or more brokers. */
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /**
   * How long `close()` of a producer or admin waits for a clean disconnect (in-flight requests
   * answered) before it closes the connections itself. Default 1 000 ms.
   */
  readonly closeTimeoutMs?: number
  /** Retries of one request inside the client before it fails (callers retry on top). */
  readonly retry?: { readonly retries: number; readonly initialRetryTimeMs?: number; readonly maxRetryTimeMs?: number }
  /** Where the client's own warnings and errors go (at warn level); silent without one. */
  readonly logger?: Logger
}

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  /** -1 takes the broker's default. */
  readonly replicationFactor: number
  /** Topic configs set when the topic is created (`retention.ms`, `cleanup.policy`, ...); a topic that exists keeps its own. */
  readonly configs?: Readonly<Record<string, string>>
}

export interface PartitionOffsets {
  readonly partition: number
  /** The earliest offset still on the broker. */
  readonly low: bigint
  /** The offset the next record will get. */
  readonly high: bigint
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>
  /** Creates the topics that do not exist yet and waits for their leaders; answers the ones it created. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<string[]>
  deleteTopics(topics: readonly string[]): Promise<void>
  /** The topic's current values of the named configs (those the broker reports). */
  topicConfigs(topic: string, names: readonly string[]): Promise<Record<string, string>>
  /** Every partition of the topic, in partition order. */
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>
  /** Per partition (in order), the first offset at or after `timeMs`; the high offset when every record is older. */
  offsetsForTime(topic: string, timeMs: number): Promise<{ partition: number; offset: bigint }[]>
  deleteGroups(groupIds: readonly string[]): Promise<void>
  /** Per partition of the topic (in order), the next offset the group committed; null where it committed none. */
  committedOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: bigint | null }[]>
  describeCluster(): Promise<{ brokers: number; clusterId: string }>
  /** Disconnects (bounded by `closeTimeoutMs`), then closes every connection still open. */
  close(): Promise<void>
}

export interface OutgoingMessage {
  readonly key: string
  readonly value: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface TopicMessages {
  readonly topic: string
  readonly messages: readonly OutgoingMessage[]
}

export interface KafkaProducer {
  /** Resolves once every in-sync replica has the records (acks = all). */
  send(batches: readonly TopicMessages[]): Promise<void>
  /**
   * Disconnects (bounded by `closeTimeoutMs`), then closes every connection still open: resolves
   * with none left, however the broker behaves. Sends still waiting fail.
   */
  close(): Promise<void>
}

export interface ProducerOptions {
  /** Idempotent producer (one request in flight): retries cannot duplicate or reorder. Default true. */
  readonly idempotent?: boolean
  /** gzip record batches. Default true. */
  readonly compress?: boolean
}

export interface ConsumedMessage {
  readonly offset: bigint
  readonly key: string | null
  readonly value: Buffer | null
  readonly headers: Readonly<Record<string, string>>
  /** Record time, ms since the epoch. */
  readonly timestamp: number
}

export interface ConsumedBatch {
  readonly topic: string
  readonly partition: number
  readonly messages: readonly ConsumedMessage[]
  /** False once the consumer is stopping. */
  isRunning(): boolean
  /** True once a rebalance took the partition away or a seek moved it: stop working on this batch. */
  isStale(): boolean
  /** Marks an offset as processed, so a rebalance in the middle of the batch does not hand it out again. */
  resolveOffset(offset: bigint): void
  heartbeat(): Promise<void>
}

export interface GroupJoin {
  readonly memberId: string
  readonly groupId: string
  /** Partitions this member was given, per topic. */
  readonly assigned: Readonly<Record<string, readonly number[]>>
}

/** What a group consumer went through, for health checks: each kind as the client reports it. */
export type ConsumerEvent =
  /** A heartbeat reached the group coordinator: the member is alive in the group. */
  | { readonly kind: 'heartbeat' }
  /** The member lost its assignment and is joining the group again. */
  | { readonly kind: 'rebalancing' }
  /** The consumer stopped fetching (closed, or stopped after a crash it does not restart from). */
  | { readonly kind: 'stopped' }
  /** A batch handler returned; `highWatermark` is the partition's end as the fetch saw it. */
  | { readonly kind: 'batch'; readonly topic: string; readonly partition: number; readonly highWatermark: bigint; readonly nextOffset: bigint }

export interface ConsumerOptions {
  readonly groupId: string
  readonly sessionTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  /** Bounds of one fetch: what the consumer holds in memory at once. */
  readonly maxBytesPerPartition?: number
  readonly maxBytes?: number
}

export interface KafkaGroupConsumer {
  /** Connects, subscribes (from the earliest offset when the group has none committed) and starts fetching. */
  start(topics: readonly string[], onBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void>
  /** Moves a partition's position (only while the consumer runs, e.g. from a group-join listener). */
  seek(topic: string, partition: number, offset: bigint): void
  /** Commits the next offset to read of each partition. */
  commit(offsets: readonly { topic: string; partition: number; offset: bigint }[]): Promise<void>
  onGroupJoin(listener: (join: GroupJoin) => void): void
  /** The consumer stopped on an error; `restarting` tells whether the client restarts it by itself. */
  onCrash(listener: (error: Error, restarting: boolean) => void): void
  /** Heartbeats, rebalances, stops and finished batches (see `ConsumerEvent`). */
  onEvent(listener: (event: ConsumerEvent) => void): void
  close(): Promise<void>
}

/** Offsets `start` (included) to `end` (excluded) of one partition. */
export interface OffsetRange {
  readonly partition: number
  readonly start: bigint
  readonly end: bigint
}

export interface RangeReadOptions {
  /** Bound of one fetch answer over a broker's partitions (default 4 MiB); what the reader holds compressed at once. */
  readonly maxBytes?: number
  /** Bound per partition within one answer (default 2 MiB). */
  readonly maxBytesPerPartition?: number
  /** The whole read fails after this long (default 10 minutes). */
  readonly timeoutMs?: number
}

export interface KafkaClient {
  /** A connected admin client. When connecting fails, every connection it opened is closed. */
  admin(): Promise<KafkaAdmin>
  /** A connected producer. When connecting fails, every connection it opened is closed. */
  producer(options?: ProducerOptions): Promise<KafkaProducer>
  consumer(options: ConsumerOptions): KafkaGroupConsumer
  /**
   * Reads bounded offset ranges of a topic's partitions from their leaders, without a consumer
   * group, and hands over each record's value as UTF-8 text (null when it has none), in offset order
   * within a partition (partitions interleave). For bulk reads such as reports: nothing per record
   * is kept beyond the call.
   */
  readRanges(
    topic: string,
    ranges: readonly OffsetRange[],
    onValue: (value: string | null, partition: number) => void,
    options?: RangeReadOptions,
  ): Promise<void>
  /** Broker connections open now, over every admin, producer and consumer of this client. */
  openConnections(): number
  /**
   * Closes every connection of every admin, producer and consumer now, without waiting for the
   * broker, and refuses new ones: requests still waiting fail, connects under way fail.
   */
  closeAll(): void
}
