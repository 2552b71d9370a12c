import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createKafkaClient, type ConsumedMessage, type KafkaAdmin } from '../../src/kafka/index.ts'
import { KafkaPublisher } from '../../src/publish/kafka-publisher.ts'
import { readComparisonsFromKafka } from '../../src/report/sources/kafka-source.ts'
import type { ComparisonsStreamEvent } from '../../src/publish/shadow-skips.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { DEFAULT_KAFKA_VERSION } from './kafka-broker.ts'

// Every call Ficus makes to Kafka, through its own client (src/kafka), against the suite's broker:
// 3.9.1 by default, any other release with FICUS_TEST_KAFKA_VERSION (npm run test:kafka4).
const brokers = inject('kafkaBrokers')
const kafka = createKafkaClient({ clientId: 'ficus-compat', brokers: [brokers] })
let admin: KafkaAdmin
const created: string[] = []

function topicName(what: string): string {
  const topic = `compat-${what}-${randomUUID().slice(0, 8)}`
  created.push(topic)
  return topic
}

beforeAll(async () => {
  admin = await kafka.admin()
})
afterAll(async () => {
  await admin.deleteTopics(created).catch(() => undefined)
  await admin.close()
})

/** Consumes `count` records of `topic` in group `groupId`, committing as it goes. */
async function consume(groupId: string, topic: string, count: number): Promise<ConsumedMessage[]> {
  const consumer = kafka.consumer({ groupId, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 })
  const received: ConsumedMessage[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} records consumed from ${topic}`)), 20_000)
      consumer
        .start([topic], async (batch) => {
          received.push(...batch.messages)
          const last = batch.messages.at(-1)
          if (last) await consumer.commit([{ topic, partition: batch.partition, offset: last.offset + 1n }])
          if (received.length >= count) {
            clearTimeout(timer)
            resolve()
          }
        })
        .catch(reject)
    })
  } finally {
    await consumer.close()
  }
  return received
}

describe('Ficus’s Kafka client against the test broker', () => {
  it('runs against the Kafka release the suite was asked for', () => {
    const { version, classpath } = inject('kafkaDistribution')
    expect(version).toBe(process.env.FICUS_TEST_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION)
    expect(classpath).toContain(`kafka_2.13-${version}.jar`)
    console.log(`Kafka compatibility: broker ${version}`)
  })

  it('describes the cluster and creates only the topics that are missing', async () => {
    expect((await admin.describeCluster()).brokers).toBe(1)
    const topic = topicName('create')
    expect(await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }])).toEqual([topic])
    expect(await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }])).toEqual([])
    expect(await admin.listTopics()).toContain(topic)
    expect((await admin.partitionOffsets(topic)).map((p) => [p.partition, p.low, p.high])).toEqual([
      [0, 0n, 0n],
      [1, 0n, 0n],
    ])
  })

  it('produces idempotently with acks=all and gzip, consumes in a group in order per key, resumes from the commit, and finds offsets by time', async () => {
    const topic = topicName('produce')
    await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }])
    const before = Date.now()
    const producer = await kafka.producer()
    const first = Array.from({ length: 20 }, (_, i) => ({ key: `slice-${i % 2}`, value: JSON.stringify({ n: i }), headers: { 'ficus-schema-version': '1' } }))
    await producer.send([{ topic, messages: first }])

    const groupId = `compat-${randomUUID()}`
    const received = await consume(groupId, topic, 20)
    expect(received.map((m) => (JSON.parse(m.value!.toString()) as { n: number }).n).sort((a, b) => a - b)).toEqual(first.map((_, i) => i))
    expect(received.every((m) => m.headers['ficus-schema-version'] === '1' && m.timestamp >= before - 1_000)).toBe(true)
    for (const key of ['slice-0', 'slice-1']) {
      const ns = received.filter((m) => m.key === key).map((m) => (JSON.parse(m.value!.toString()) as { n: number }).n)
      expect(ns).toEqual([...ns].sort((a, b) => a - b))
    }

    // The same group, later: only what came after its committed offsets.
    await producer.send([{ topic, messages: [{ key: 'slice-0', value: JSON.stringify({ n: 20 }) }] }])
    await producer.close()
    const resumed = await consume(groupId, topic, 1)
    expect(resumed.map((m) => m.value!.toString())).toEqual([JSON.stringify({ n: 20 })])

    expect((await admin.offsetsForTime(topic, before - 1_000)).map((p) => p.offset)).toEqual([0n, 0n])
    const highs = (await admin.partitionOffsets(topic)).map((p) => p.high)
    expect(highs.reduce((sum, high) => sum + high, 0n)).toBe(21n)
    // Later than every record: the end of each partition.
    expect((await admin.offsetsForTime(topic, Date.now() + 60_000)).map((p) => p.offset)).toEqual(highs)
    await admin.deleteGroups([groupId])
  })

  it('the publisher creates its topics at start, before any event, and the report reader reads back what it published', async () => {
    const topics = { comparisons: topicName('comparisons'), 'authority-changes': topicName('authority'), 'triage-actions': topicName('triage') }
    const dir = await mkdtemp(join(tmpdir(), 'ficus-compat-'))
    const { logger } = capturingLogger()
    const publisher = new KafkaPublisher({
      brokers: [brokers],
      clientId: 'ficus-compat-publisher',
      topics,
      partitions: 2,
      replicationFactor: 1,
      outboxDir: dir,
      logger,
    })
    try {
      await publisher.start()
      for (let i = 0; i < 100 && !(await admin.listTopics()).includes(topics.comparisons); i++) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(Object.values(topics)))

      const sink = publisher.sink<Comparison>('comparisons', (record) => record.slice)
      const records = Array.from({ length: 30 }, (_, i) => comparison({ slice: i % 2 === 0 ? 'coverage-status' : 'claim-lodgement', eventTime: new Date() }))
      for (const record of records) sink.write(record)
      await publisher.close()
      expect(publisher.stats()).toMatchObject({ published: 30, dropped: 0, outboxBytes: 0 })

      const read: ComparisonsStreamEvent[] = []
      const { invalid } = await readComparisonsFromKafka({ brokers: [brokers], topic: topics.comparisons, from: null, to: null, timeoutMs: 30_000 }, (record) =>
        read.push(record),
      )
      expect(invalid).toBe(0)
      expect(new Set(read.map((record) => record.eventId))).toEqual(new Set(records.map((record) => record.eventId)))
    } finally {
      await publisher.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
