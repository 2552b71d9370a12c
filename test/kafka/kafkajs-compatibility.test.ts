import { randomUUID } from 'node:crypto'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

// Why Kafka 3.9.1 (test/kafka/README.md): kafkajs 2.2.4 is unmaintained and negotiates old protocol
// versions. These are the calls Ficus makes; each must work against the broker the suite runs.
const kafka = new Kafka({ clientId: 'ficus-compat', brokers: [inject('kafkaBrokers')], logLevel: logLevel.NOTHING })
const admin = kafka.admin()
const topic = `compat-${randomUUID()}`

beforeAll(async () => {
  await admin.connect()
})
afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
  await admin.disconnect()
})

describe('kafkajs 2.2.4 against the test broker', () => {
  it('creates topics, produces idempotently with acks=all and gzip, consumes in a group, and finds offsets by time', async () => {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })).toBe(true)
    const before = Date.now()
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `slice-${i % 2}`, value: JSON.stringify({ n: i }), headers: { 'schema-version': '1' } }))
    const results = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: sent })
    expect(results.every((result) => result.errorCode === 0)).toBe(true)
    await producer.disconnect()

    const consumer = kafka.consumer({ groupId: `compat-${randomUUID()}`, sessionTimeout: 6_000 })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const received: { key: string; n: number; header: string }[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of 20 messages consumed`)), 20_000)
      void consumer.run({
        eachMessage: ({ message }) => {
          received.push({ key: message.key?.toString() ?? '', n: (JSON.parse(message.value?.toString() ?? '{}') as { n: number }).n, header: message.headers?.['schema-version']?.toString() ?? '' })
          if (received.length === 20) {
            clearTimeout(timer)
            resolve()
          }
          return Promise.resolve()
        },
      })
    })
    await consumer.disconnect()
    expect(received.map((m) => m.n).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i))
    expect(received.every((m) => m.header === '1')).toBe(true)
    // Per key, order is kept.
    for (const key of ['slice-0', 'slice-1']) {
      const ns = received.filter((m) => m.key === key).map((m) => m.n)
      expect(ns).toEqual([...ns].sort((a, b) => a - b))
    }
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, before - 1_000)
    expect(byTime.map((partition) => partition.offset)).toEqual(['0', '0'])
  })
})
