import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { DurabilityMode } from '../../src/publish/event-durability.ts'
import { JsonlSink } from '../../src/publish/jsonl-sink.ts'
import { KafkaPublisher } from '../../src/publish/kafka-publisher.ts'
import { until } from '../helpers/wait.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { uniqueTopics } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'

// Issue 14, point 4: a rough figure of what write-ahead costs (docs/events.md quotes it). Bounded
// in count (RECORDS per run) and time (each run's own timeout); figures go to the test output.

const RECORDS = 10_000
const liveBrokers = inject('kafkaBrokers')
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-cost-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Realistic records (about 1.3 KB of JSON each, like a comparison with a small diff). */
const records: Comparison[] = Array.from({ length: RECORDS }, (_, n) =>
  comparison({ requestId: `cost-${n}`, category: 'body-mismatch', diffPaths: ['/status', '/premium/amount', '/holder/name'] }),
)

interface Figures {
  /** `write` calls per second: what the request path pays. */
  readonly acceptedPerS: number
  /** Records per second until the last was written (JSONL) or acknowledged by the broker (Kafka). */
  readonly completedPerS: number
}

async function jsonl(mode: DurabilityMode): Promise<Figures> {
  const sink = new JsonlSink<Comparison>({
    dir: join(dir, `jsonl-${mode}`),
    logger: capturingLogger().logger,
    durability: { mode, flushMs: 1_000, flushRecords: 1_000 },
  })
  const started = performance.now()
  for (const record of records) sink.write(record)
  const accepted = performance.now() - started
  await until(() => sink.stats().written === RECORDS, `${RECORDS} records written`, { timeoutMs: 30_000 })
  const completed = performance.now() - started
  await sink.close()
  return { acceptedPerS: Math.round(RECORDS / (accepted / 1_000)), completedPerS: Math.round(RECORDS / (completed / 1_000)) }
}

async function kafka(mode: DurabilityMode): Promise<Figures> {
  const topics = uniqueTopics(liveBrokers)
  const publisher = new KafkaPublisher({
    brokers: [liveBrokers],
    clientId: 'ficus-cost-test',
    topics: { comparisons: topics.comparisons, 'authority-changes': topics.authority, 'triage-actions': topics.triage },
    partitions: 3,
    replicationFactor: 1,
    outboxDir: join(dir, `outbox-${mode}`),
    maxQueued: RECORDS,
    durability: { mode, flushMs: 1_000, flushRecords: 1_000 },
    logger: capturingLogger().logger,
  })
  await publisher.start()
  // Topics created and connected first: the figure is about writing, not about start-up.
  await until(() => publisher.status().state === 'connected', 'the publisher to connect', { timeoutMs: 30_000 })
  const sink = publisher.sink<Comparison>('comparisons', (record) => record.slice)
  const started = performance.now()
  for (const record of records) sink.write(record)
  const accepted = performance.now() - started
  await until(() => publisher.stats().published >= RECORDS, `${RECORDS} records acknowledged`, { timeoutMs: 60_000 })
  const completed = performance.now() - started
  expect(publisher.stats().dropped).toBe(0)
  await publisher.close(2_000)
  return { acceptedPerS: Math.round(RECORDS / (accepted / 1_000)), completedPerS: Math.round(RECORDS / (completed / 1_000)) }
}

/** `writeDurable` one after another (an fsync each): what an authority change pays. */
async function durablePerS(count: number): Promise<number> {
  const sink = new JsonlSink<Comparison>({ dir: join(dir, 'durable'), logger: capturingLogger().logger })
  const started = performance.now()
  for (const record of records.slice(0, count)) await sink.writeDurable(record)
  const elapsed = performance.now() - started
  await sink.close()
  return Math.round(count / (elapsed / 1_000))
}

describe('what write-ahead costs', () => {
  it('JSONL: records per second, buffered and write-ahead', async () => {
    const buffered = await jsonl('buffered')
    const writeAhead = await jsonl('write-ahead')
    const durable = await durablePerS(200)
    console.info(
      `JSONL, ${RECORDS} records of ${Buffer.byteLength(JSON.stringify(records[0]))} bytes: buffered ${buffered.acceptedPerS}/s accepted, ${buffered.completedPerS}/s written; write-ahead ${writeAhead.acceptedPerS}/s accepted and written; writeDurable (fsync each) ${durable}/s`,
    )
    expect(writeAhead.completedPerS).toBeGreaterThan(1_000)
  }, 90_000)

  it('Kafka: records per second, buffered and write-ahead, until the broker acknowledged the last', async () => {
    const buffered = await kafka('buffered')
    const writeAhead = await kafka('write-ahead')
    console.info(
      `Kafka, ${RECORDS} records: buffered ${buffered.acceptedPerS}/s accepted, ${buffered.completedPerS}/s acknowledged; write-ahead ${writeAhead.acceptedPerS}/s accepted, ${writeAhead.completedPerS}/s acknowledged`,
    )
    expect(writeAhead.completedPerS).toBeGreaterThan(500)
  }, 150_000)
})
