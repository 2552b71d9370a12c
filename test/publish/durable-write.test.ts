import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import { KafkaPublisher } from '../../src/publish/kafka-publisher.ts'
import { JsonlSink } from '../../src/publish/jsonl-sink.ts'
import { startBlackholeBroker, type BlackholeBroker } from '../helpers/blackhole-broker.ts'
import { until } from '../helpers/wait.ts'
import { uniqueTopics } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'

// Issue 14, point 4: `writeDurable` resolves only once the record is on disk (fsync'd), and
// rejects with FICUS_ERR_EVENT_SINK_UNAVAILABLE when it cannot be.

interface Event {
  readonly eventId: string
  readonly slice: string
}

const liveBrokers = inject('kafkaBrokers')
let dir: string
let hole: BlackholeBroker | undefined
let publisher: KafkaPublisher | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-durable-'))
})
afterEach(async () => {
  await publisher?.close(500)
  publisher = undefined
  await hole?.close()
  hole = undefined
  await rm(dir, { recursive: true, force: true })
})

async function startPublisher(brokers: string, options: { outboxMaxBytes?: number } = {}): Promise<KafkaPublisher> {
  const topics = uniqueTopics(brokers)
  publisher = new KafkaPublisher({
    brokers: [brokers],
    clientId: 'ficus-durable-test',
    topics: { comparisons: topics.comparisons, 'authority-changes': topics.authority, 'triage-actions': topics.triage },
    partitions: 1,
    replicationFactor: 1,
    outboxDir: join(dir, 'outbox'),
    ...options,
    connectionTimeoutMs: 300,
    requestTimeoutMs: 400,
    sendTimeoutMs: 800,
    maxBackoffMs: 200,
    logger: capturingLogger().logger,
  })
  await publisher.start()
  return publisher
}

async function outboxEventIds(): Promise<string[]> {
  const names = (await readdir(join(dir, 'outbox'))).filter((name) => name.startsWith('segment-')).sort()
  const ids: string[] = []
  for (const name of names)
    for (const line of (await readFile(join(dir, 'outbox', name), 'utf8')).split('\n')) if (line !== '') ids.push((JSON.parse(line) as { i: string }).i)
  return ids
}

describe('writeDurable, Kafka', () => {
  it('resolves with the record in the outbox, behind every record written before it, while the broker never answers', async () => {
    hole = await startBlackholeBroker()
    const started = await startPublisher(hole.brokers)
    const comparisons = started.sink<Event>('comparisons', (event) => event.slice)
    const changes = started.sink<Event>('authority-changes', (event) => event.slice)
    comparisons.write({ eventId: 'c-1', slice: 's' })
    comparisons.write({ eventId: 'c-2', slice: 's' })
    await changes.writeDurable({ eventId: 'a-1', slice: 's' })
    expect(await outboxEventIds()).toEqual(['c-1', 'c-2', 'a-1'])
    expect(changes.stats().buffered).toBe(0)
  })

  it('is delivered from the outbox and removed from it once the broker acknowledged it', async () => {
    const started = await startPublisher(liveBrokers)
    const changes = started.sink<Event>('authority-changes', (event) => event.slice)
    await changes.writeDurable({ eventId: 'a-live', slice: 'policy-status' })
    await until(() => started.stats().outboxBytes === 0 && started.stats().replayed === 1, 'the outbox to be delivered', { timeoutMs: 20_000 })
    expect(started.stats().published).toBe(1)
  })

  it('rejects with FICUS_ERR_EVENT_SINK_UNAVAILABLE when the outbox is full, and once the sink is closed', async () => {
    hole = await startBlackholeBroker()
    const started = await startPublisher(hole.brokers, { outboxMaxBytes: 300 })
    const changes = started.sink<Event>('authority-changes', (event) => event.slice)
    await changes.writeDurable({ eventId: 'a-1', slice: 's'.repeat(100) })
    await expect(changes.writeDurable({ eventId: 'a-2', slice: 's'.repeat(100) })).rejects.toMatchObject({
      code: 'FICUS_ERR_EVENT_SINK_UNAVAILABLE',
      statusCode: 503,
    })
    expect(await outboxEventIds()).toEqual(['a-1'])
    await started.close(300)
    await expect(changes.writeDurable({ eventId: 'a-3', slice: 's' })).rejects.toMatchObject({ code: 'FICUS_ERR_EVENT_SINK_UNAVAILABLE' })
  })
})

describe('writeDurable, JSONL', () => {
  const file = (): string => join(dir, 'authority-changes', 'authority-changes.jsonl')

  it('resolves with the record in the file, behind every record written before it', async () => {
    const sink = new JsonlSink<Event>({ dir: join(dir, 'authority-changes'), prefix: 'authority-changes', logger: capturingLogger().logger })
    sink.write({ eventId: 'a-1', slice: 's' })
    await sink.writeDurable({ eventId: 'a-2', slice: 's' })
    const ids = (await readFile(file(), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as Event).eventId)
    expect(ids).toEqual(['a-1', 'a-2'])
    expect(sink.stats()).toMatchObject({ written: 2, buffered: 0 })
    await sink.close()
  })

  it('rejects when the disk refuses the write, and the rejected record is never written later', async () => {
    // The file's place is taken by a directory: appends fail until it is removed.
    await mkdir(file(), { recursive: true })
    const sink = new JsonlSink<Event>({ dir: join(dir, 'authority-changes'), prefix: 'authority-changes', logger: capturingLogger().logger })
    sink.write({ eventId: 'before', slice: 's' })
    await expect(sink.writeDurable({ eventId: 'refused', slice: 's' })).rejects.toMatchObject({ code: 'FICUS_ERR_EVENT_SINK_UNAVAILABLE' })
    await rm(file(), { recursive: true })
    await until(() => sink.stats().written === 1, 'the buffered record to be written once the disk takes it', { timeoutMs: 5_000 })
    await sink.close()
    expect(
      (await readFile(file(), 'utf8'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as Event).eventId),
    ).toEqual(['before'])
  })
})
