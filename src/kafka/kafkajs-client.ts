import { CompressionTypes, Kafka, logLevel, type Consumer, type LogEntry, type logCreator } from 'kafkajs'
import type {
  ConsumedBatch,
  ConsumerOptions,
  GroupJoin,
  KafkaAdmin,
  KafkaClient,
  KafkaClientOptions,
  KafkaGroupConsumer,
  KafkaProducer,
  ProducerOptions,
  TopicSpec,
} from './kafka-client.ts'
import { silenceKafkajsNegativeTimeoutWarning } from './kafkajs-warnings.ts'

/** The kafkajs implementation of Ficus's Kafka client. Only this folder imports kafkajs. */
export function createKafkajsClient(options: KafkaClientOptions): KafkaClient {
  silenceKafkajsNegativeTimeoutWarning()
  const kafka = new Kafka({
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
  })
  return {
    admin: () => connectAdmin(kafka),
    producer: (producerOptions) => connectProducer(kafka, producerOptions),
    consumer: (consumerOptions) => groupConsumer(kafka, consumerOptions),
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

async function connectAdmin(kafka: Kafka): Promise<KafkaAdmin> {
  const admin = kafka.admin()
  await admin.connect()
  return {
    listTopics: () => admin.listTopics(),
    ensureTopics: async (specs: readonly TopicSpec[]) => {
      const existing = new Set(await admin.listTopics())
      const missing = specs.filter((spec) => !existing.has(spec.topic))
      if (missing.length === 0) return []
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({ topic: spec.topic, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor })),
      })
      return missing.map((spec) => spec.topic)
    },
    deleteTopics: (topics) => admin.deleteTopics({ topics: [...topics] }),
    partitionOffsets: async (topic) =>
      byPartition((await admin.fetchTopicOffsets(topic)).map((entry) => ({ partition: entry.partition, low: BigInt(entry.low), high: BigInt(entry.high) }))),
    offsetsForTime: async (topic, timeMs) => {
      const found = (await admin.fetchTopicOffsetsByTimestamp(topic, timeMs)).map((entry) => ({ partition: entry.partition, offset: BigInt(entry.offset) }))
      // The broker answers -1 when every record is older; kafkajs versions differ in passing that on.
      if (found.some((entry) => entry.offset < 0n)) {
        const high = new Map((await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, BigInt(entry.high)]))
        for (const entry of found) if (entry.offset < 0n) entry.offset = high.get(entry.partition) ?? 0n
      }
      return byPartition(found)
    },
    deleteGroups: async (groupIds) => {
      await admin.deleteGroups([...groupIds])
    },
    describeCluster: async () => {
      const cluster = await admin.describeCluster()
      return { brokers: cluster.brokers.length, clusterId: cluster.clusterId }
    },
    close: () => admin.disconnect(),
  }
}

async function connectProducer(kafka: Kafka, options: ProducerOptions = {}): Promise<KafkaProducer> {
  const idempotent = options.idempotent ?? true
  const producer = kafka.producer({ idempotent, allowAutoTopicCreation: false, ...(idempotent ? { maxInFlightRequests: 1 } : {}) })
  await producer.connect()
  const compression = (options.compress ?? true) ? CompressionTypes.GZIP : CompressionTypes.None
  return {
    send: async (batches) => {
      await producer.sendBatch({
        acks: -1,
        compression,
        topicMessages: batches.map(({ topic, messages }) => ({
          topic,
          messages: messages.map((message) => ({ key: message.key, value: message.value, ...(message.headers === undefined ? {} : { headers: { ...message.headers } }) })),
        })),
      })
    },
    close: () => producer.disconnect(),
  }
}

function groupConsumer(kafka: Kafka, options: ConsumerOptions): KafkaGroupConsumer {
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
    close: () => consumer.disconnect(),
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
