import { randomUUID } from 'node:crypto'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { requirePeer } from './peers.ts'
import { until } from './wait.ts'

requirePeer('Kafka')

export interface ReceivedMessage {
  readonly topic: string
  readonly partition: number
  readonly key: string
  readonly value: Record<string, unknown>
  readonly headers: Record<string, string>
}

export interface TopicReader {
  readonly messages: ReceivedMessage[]
  /** Waits until `predicate` holds for the messages received so far. */
  until(predicate: (messages: readonly ReceivedMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Reads topics from the beginning in a consumer group of its own, once they exist (or creates them). */
export async function readTopics(brokers: string, topics: readonly string[], options: { create?: boolean } = {}): Promise<TopicReader> {
  const kafka = createKafkaClient({ clientId: 'ficus-test-reader', brokers: [brokers] })
  const admin = await kafka.admin()
  try {
    if (options.create === true) await admin.ensureTopics(topics.map((topic) => ({ topic, partitions: 3, replicationFactor: 1 })))
    // The gateway creates its topics in the background: wait for them rather than fail to subscribe.
    await until(
      async () => {
        const existing = new Set(await admin.listTopics())
        return topics.every((topic) => existing.has(topic))
      },
      `topics ${topics.join(', ')} to be created`,
      { intervalMs: 50 },
    )
  } finally {
    await admin.close()
  }
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 })
  const messages: ReceivedMessage[] = []
  await consumer.start(topics, ({ topic, partition, messages: batch }) => {
    for (const message of batch) {
      messages.push({
        topic,
        partition,
        key: message.key ?? '',
        value: JSON.parse(message.value?.toString() ?? '{}') as Record<string, unknown>,
        headers: { ...message.headers },
      })
    }
    return Promise.resolve()
  })
  return {
    messages,
    until: async (predicate, what, timeoutMs = 30_000) => {
      await until(
        () => predicate(messages),
        () => `${what}; received ${messages.length} message(s)`,
        { timeoutMs, intervalMs: 50 },
      )
    },
    close: () => consumer.close(),
  }
}

/** Topic names of their own for one test, and the environment that makes a gateway use them. */
export function uniqueTopics(brokers: string): { comparisons: string; authority: string; triage: string; env: NodeJS.ProcessEnv } {
  const id = randomUUID().slice(0, 8)
  const comparisons = `test.comparisons.${id}`
  const authority = `test.authority-changes.${id}`
  const triage = `test.triage-actions.${id}`
  return {
    comparisons,
    authority,
    triage,
    env: {
      KAFKA_BROKERS: brokers,
      FICUS_TOPIC_COMPARISONS: comparisons,
      FICUS_TOPIC_AUTHORITY_CHANGES: authority,
      FICUS_TOPIC_TRIAGE_ACTIONS: triage,
      KAFKA_TOPIC_PARTITIONS: '3',
      KAFKA_TOPIC_REPLICATION: '1',
    },
  }
}
