import { randomUUID } from 'node:crypto'
import { Kafka, logLevel, type Consumer } from 'kafkajs'

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
  const kafka = new Kafka({ clientId: 'ficus-test-reader', brokers: [brokers], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (options.create === true) await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) })
    // The gateway creates its topics in the background: wait for them rather than fail to subscribe.
    for (let attempt = 0; ; attempt++) {
      const existing = new Set(await admin.listTopics())
      if (topics.every((topic) => existing.has(topic))) break
      if (attempt === 200) throw new Error(`topics ${topics.join(', ')} were not created`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await admin.disconnect()
  }
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, sessionTimeout: 6_000, heartbeatInterval: 1_000 })
  await consumer.connect()
  await consumer.subscribe({ topics: [...topics], fromBeginning: true })
  const messages: ReceivedMessage[] = []
  await consumer.run({
    eachMessage: ({ topic, partition, message }) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = value?.toString() ?? ''
      messages.push({ topic, partition, key: message.key?.toString() ?? '', value: JSON.parse(message.value?.toString() ?? '{}') as Record<string, unknown>, headers })
      return Promise.resolve()
    },
  })
  return {
    messages,
    until: async (predicate, what, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs
      while (!predicate(messages)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${messages.length} message(s)`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    close: () => consumer.disconnect(),
  }
}

/** Topic names of their own for one test, and the environment that makes a gateway use them. */
export function uniqueTopics(brokers: string): { comparisons: string; authority: string; env: NodeJS.ProcessEnv } {
  const id = randomUUID().slice(0, 8)
  const comparisons = `test.comparisons.${id}`
  const authority = `test.authority-changes.${id}`
  return {
    comparisons,
    authority,
    env: { KAFKA_BROKERS: brokers, FICUS_TOPIC_COMPARISONS: comparisons, FICUS_TOPIC_AUTHORITY_CHANGES: authority, KAFKA_TOPIC_PARTITIONS: '3', KAFKA_TOPIC_REPLICATION: '1' },
  }
}
