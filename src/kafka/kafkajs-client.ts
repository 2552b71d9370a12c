import { setTimeout as sleep } from 'node:timers/promises'
import { CompressionTypes, Kafka, logLevel, type ConfigResourceTypes, type Consumer, type KafkaConfig, type LogEntry, type logCreator } from 'kafkajs'
import type {
  ConsumedBatch,
  ConsumerOptions,
  GroupJoin,
  KafkaAdmin,
  KafkaClient,
  KafkaClientOptions,
  KafkaGroupConsumer,
  KafkaProducer,
  OffsetRange,
  ProducerOptions,
  RangeReadOptions,
  TopicSpec,
} from './kafka-client.ts'
import { backoffDelay } from '../retry/backoff.ts'
import { readRanges } from './range-reader.ts'
import { silenceKafkajsNegativeTimeoutWarning } from './kafkajs-warnings.ts'
import { SocketTracker } from './socket-tracker.ts'

export const DEFAULT_CLOSE_TIMEOUT_MS = 1_000
/**
 * kafkajs's ConfigResourceTypes.TOPIC (Kafka's ConfigResource.Type TOPIC). Spelled out: kafkajs is
 * CommonJS, and Node's named-export detection does not find that export when Ficus runs as ESM.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the enum's value, see above
const TOPIC_RESOURCE: ConfigResourceTypes = 2

/**
 * The kafkajs implementation of Ficus's Kafka client. Only this folder imports kafkajs. Each admin,
 * producer and consumer gets a kafkajs instance of its own with its own connections, so that closing
 * it (or failing to connect it) closes exactly its connections — see `SocketTracker`.
 */
export function createKafkajsClient(options: KafkaClientOptions): KafkaClient {
  silenceKafkajsNegativeTimeoutWarning()
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeout: options.connectionTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    ...(options.retry === undefined
      ? {}
      : {
          retry: {
            retries: options.retry.retries,
            ...(options.retry.initialRetryTimeMs === undefined ? {} : { initialRetryTime: options.retry.initialRetryTimeMs }),
            ...(options.retry.maxRetryTimeMs === undefined ? {} : { maxRetryTime: options.retry.maxRetryTimeMs }),
          },
        }),
    ...(options.logger === undefined ? { logLevel: logLevel.NOTHING } : { logLevel: logLevel.WARN, logCreator: toPino(options.logger) }),
  }
  const trackers = new Set<SocketTracker>()
  let closed = false
  const tracked = (): { kafka: Kafka; tracker: SocketTracker } => {
    const tracker = new SocketTracker()
    trackers.add(tracker)
    if (closed) tracker.destroyAll()
    return { kafka: new Kafka({ ...config, socketFactory: tracker.connect }), tracker }
  }
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
  return {
    admin: () => connectAdmin(tracked(), closeTimeoutMs),
    producer: (producerOptions) => connectProducer(tracked(), closeTimeoutMs, producerOptions),
    consumer: (consumerOptions) => groupConsumer(tracked(), consumerOptions),
    readRanges: (topic, ranges, onValue, readOptions) =>
      readTopicRanges(tracked(), tracked().tracker, options, closeTimeoutMs, { topic, ranges, onValue, readOptions }),
    openConnections: () => {
      let open = 0
      for (const tracker of trackers) {
        if (tracker.released) trackers.delete(tracker)
        else open += tracker.open
      }
      return open
    },
    closeAll: () => {
      closed = true
      for (const tracker of trackers) tracker.destroyAll()
    },
  }
}

/**
 * A disconnect that cannot hang: kafkajs waits for in-flight requests, which a frozen broker never
 * answers. After `timeoutMs`, or as soon as it is done, every connection left is closed.
 */
async function disconnectWithin(disconnect: () => Promise<void>, tracker: SocketTracker, timeoutMs: number): Promise<void> {
  const done = disconnect().catch(() => undefined)
  await Promise.race([done, sleep(timeoutMs, undefined, { ref: false })])
  tracker.destroyAll()
}

/** Connects; when that fails, closes what the attempt opened (kafkajs leaves it open). */
async function connectOrRelease(connect: () => Promise<void>, disconnect: () => Promise<void>, tracker: SocketTracker, closeTimeoutMs: number): Promise<void> {
  try {
    await connect()
  } catch (err) {
    await disconnectWithin(disconnect, tracker, closeTimeoutMs)
    throw err
  }
}

/** kafkajs's warnings and errors, as pino warn lines (the client retries; its errors are not ours). */
function toPino(logger: NonNullable<KafkaClientOptions['logger']>): logCreator {
  const log = logger.child({ component: 'kafka-client' })
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      if (level > logLevel.WARN || level === logLevel.NOTHING) return
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry
      log.warn({ namespace, ...extra }, message)
    }
}

/** Attempts of an offsets request the broker refused with a retriable error (about 3 s of backoff in all). */
export const OFFSETS_ATTEMPTS = 6

/**
 * Runs an offsets request again when the broker refused it with a retriable error: a partition
 * whose leader is still taking over after the topic was created, or moved (NOT_LEADER_FOR_PARTITION,
 * LEADER_NOT_AVAILABLE). kafkajs's admin retries only an unknown topic there and gives the others
 * up at once: a replay read right after a gateway created its captures topic failed so.
 */
export async function retryRetriable<T>(ask: () => Promise<T>, wait: (ms: number) => Promise<unknown> = sleep, attempts = OFFSETS_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask()
    } catch (err) {
      if (attempt >= attempts || (err as { retriable?: unknown } | null)?.retriable !== true) throw err
      await wait(backoffDelay(attempt - 1, { baseMs: 100, maxMs: 2_000 }))
    }
  }
}

async function connectAdmin({ kafka, tracker }: { kafka: Kafka; tracker: SocketTracker }, closeTimeoutMs: number): Promise<KafkaAdmin> {
  const admin = kafka.admin()
  await connectOrRelease(
    () => admin.connect(),
    () => admin.disconnect(),
    tracker,
    closeTimeoutMs,
  )
  return {
    listTopics: () => admin.listTopics(),
    ensureTopics: async (specs: readonly TopicSpec[]) => {
      const existing = new Set(await admin.listTopics())
      const missing = specs.filter((spec) => !existing.has(spec.topic))
      if (missing.length === 0) return []
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          ...(spec.configs === undefined ? {} : { configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })) }),
        })),
      })
      return missing.map((spec) => spec.topic)
    },
    deleteTopics: (topics) => admin.deleteTopics({ topics: [...topics] }),
    topicConfigs: async (topic, names) => {
      const described = await admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: [...names] }],
        includeSynonyms: false,
      })
      const entries = described.resources.flatMap((resource) => resource.configEntries)
      return Object.fromEntries(entries.map((entry) => [entry.configName, entry.configValue]))
    },
    partitionOffsets: async (topic) =>
      byPartition(
        (await retryRetriable(() => admin.fetchTopicOffsets(topic))).map((entry) => ({
          partition: entry.partition,
          low: BigInt(entry.low),
          high: BigInt(entry.high),
        })),
      ),
    offsetsForTime: async (topic, timeMs) => {
      const found = (await retryRetriable(() => admin.fetchTopicOffsetsByTimestamp(topic, timeMs))).map((entry) => ({
        partition: entry.partition,
        offset: BigInt(entry.offset),
      }))
      // The broker answers -1 when every record is older; kafkajs versions differ in passing that on.
      if (found.some((entry) => entry.offset < 0n)) {
        const high = new Map((await retryRetriable(() => admin.fetchTopicOffsets(topic))).map((entry) => [entry.partition, BigInt(entry.high)]))
        for (const entry of found) if (entry.offset < 0n) entry.offset = high.get(entry.partition) ?? 0n
      }
      return byPartition(found)
    },
    deleteGroups: async (groupIds) => {
      await admin.deleteGroups([...groupIds])
    },
    committedOffsets: async (groupId, topic) => {
      const [found] = await admin.fetchOffsets({ groupId, topics: [topic] })
      // kafkajs answers -1 for a partition the group committed nothing on.
      return byPartition(
        (found?.partitions ?? []).map((entry) => ({ partition: entry.partition, offset: Number(entry.offset) < 0 ? null : BigInt(entry.offset) })),
      )
    },
    describeCluster: async () => {
      const cluster = await admin.describeCluster()
      return { brokers: cluster.brokers.length, clusterId: cluster.clusterId }
    },
    close: () => disconnectWithin(() => admin.disconnect(), tracker, closeTimeoutMs),
  }
}

async function connectProducer(
  { kafka, tracker }: { kafka: Kafka; tracker: SocketTracker },
  closeTimeoutMs: number,
  options: ProducerOptions = {},
): Promise<KafkaProducer> {
  const idempotent = options.idempotent ?? true
  const producer = kafka.producer({ idempotent, allowAutoTopicCreation: false, ...(idempotent ? { maxInFlightRequests: 1 } : {}) })
  await connectOrRelease(
    () => producer.connect(),
    () => producer.disconnect(),
    tracker,
    closeTimeoutMs,
  )
  const compression = (options.compress ?? true) ? CompressionTypes.GZIP : CompressionTypes.None
  return {
    send: async (batches) => {
      await producer.sendBatch({
        acks: -1,
        compression,
        topicMessages: batches.map(({ topic, messages }) => ({
          topic,
          messages: messages.map((message) => ({
            key: message.key,
            value: message.value,
            ...(message.headers === undefined ? {} : { headers: { ...message.headers } }),
          })),
        })),
      })
    },
    close: () => disconnectWithin(() => producer.disconnect(), tracker, closeTimeoutMs),
  }
}

function groupConsumer({ kafka, tracker }: { kafka: Kafka; tracker: SocketTracker }, options: ConsumerOptions): KafkaGroupConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeout: options.sessionTimeoutMs }),
    ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatInterval: options.heartbeatIntervalMs }),
    ...(options.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.maxBytesPerPartition }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  })
  return {
    start: async (topics, onBatch) => {
      await consumer.connect()
      await consumer.subscribe({ topics: [...topics], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          const { batch } = payload
          const consumed: ConsumedBatch = {
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages.map((message) => ({
              offset: BigInt(message.offset),
              key: message.key === null || message.key === undefined ? null : message.key.toString('utf8'),
              value: message.value ?? null,
              headers: textHeaders(message.headers),
              timestamp: Number(message.timestamp),
            })),
            isRunning: () => payload.isRunning(),
            isStale: () => payload.isStale(),
            resolveOffset: (offset) => payload.resolveOffset(offset.toString()),
            heartbeat: () => payload.heartbeat(),
          }
          await onBatch(consumed)
        },
      })
    },
    seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset: offset.toString() }),
    commit: (offsets) => consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: offset.toString() }))),
    onGroupJoin: (listener) => {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const assigned: Record<string, number[]> = {}
        for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) assigned[topic] = [...partitions]
        const join: GroupJoin = { memberId: event.payload.memberId, groupId: event.payload.groupId, assigned }
        listener(join)
      })
    },
    onCrash: (listener) => {
      consumer.on(consumer.events.CRASH, (event) => listener(event.payload.error, event.payload.restart))
    },
    onEvent: (listener) => {
      consumer.on(consumer.events.HEARTBEAT, () => listener({ kind: 'heartbeat' }))
      consumer.on(consumer.events.REBALANCING, () => listener({ kind: 'rebalancing' }))
      consumer.on(consumer.events.STOP, () => listener({ kind: 'stopped' }))
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        listener({
          kind: 'batch',
          topic: payload.topic,
          partition: payload.partition,
          highWatermark: BigInt(payload.highWatermark),
          nextOffset: BigInt(payload.lastOffset) + 1n,
        }),
      )
    },
    // Not bounded: leaving the group cleanly matters more here. What the disconnect left open is closed.
    close: async () => {
      try {
        await consumer.disconnect()
      } finally {
        tracker.destroyAll()
      }
    },
  }
}

/**
 * The partitions' leaders from the cluster's metadata (through kafkajs's admin), then the ranges
 * read with Ficus's own fetch reader (`range-reader.ts`): kafkajs's consumer decodes every record of
 * an answer into objects first, which costs more than the report does with them.
 */
async function readTopicRanges(
  { kafka, tracker }: { kafka: Kafka; tracker: SocketTracker },
  reader: SocketTracker,
  options: KafkaClientOptions,
  closeTimeoutMs: number,
  read: {
    topic: string
    ranges: readonly OffsetRange[]
    onValue: (value: string | null, partition: number) => void
    readOptions: RangeReadOptions | undefined
  },
): Promise<void> {
  const admin = kafka.admin()
  const leaders = new Map<number, string>()
  try {
    await connectOrRelease(
      () => admin.connect(),
      () => admin.disconnect(),
      tracker,
      closeTimeoutMs,
    )
    const [metadata, cluster] = await Promise.all([admin.fetchTopicMetadata({ topics: [read.topic] }), admin.describeCluster()])
    const brokers = new Map(cluster.brokers.map((broker) => [broker.nodeId, `${broker.host}:${broker.port}`]))
    for (const partition of metadata.topics[0]?.partitions ?? []) {
      const address = brokers.get(partition.leader)
      if (address !== undefined) leaders.set(partition.partitionId, address)
    }
  } finally {
    await disconnectWithin(() => admin.disconnect(), tracker, closeTimeoutMs)
  }
  try {
    await readRanges(read.topic, read.ranges, read.onValue, {
      clientId: options.clientId,
      leaders,
      maxBytes: read.readOptions?.maxBytes ?? 4 * 1024 * 1024,
      maxBytesPerPartition: read.readOptions?.maxBytesPerPartition ?? 2 * 1024 * 1024,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      deadline: Date.now() + (read.readOptions?.timeoutMs ?? 600_000),
      tracker: reader,
    })
  } finally {
    reader.destroyAll()
  }
}

function byPartition<T extends { readonly partition: number }>(entries: T[]): T[] {
  return entries.sort((a, b) => a.partition - b.partition)
}

function textHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, string> {
  const text: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    text[name] = Array.isArray(value) ? value.map((part) => part.toString()).join(',') : value.toString()
  }
  return text
}
