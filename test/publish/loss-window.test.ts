import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_EVENT_DURABILITY, type EventDurability } from '../../src/publish/event-durability.ts'
import { readEventDurability } from '../../src/app/settings.ts'
import { JsonlSink } from '../../src/publish/jsonl-sink.ts'
import { KafkaPublisher } from '../../src/publish/kafka-publisher.ts'
import { SequenceFile } from '../../src/publish/sequence-file.ts'
import { startBlackholeBroker, type BlackholeBroker } from '../helpers/blackhole-broker.ts'
import { until } from '../helpers/wait.ts'
import { capturingLogger } from '../helpers/logs.ts'

// Issue 14, point 4: what a crash can lose is bounded in time and count (FICUS_EVENTS_FLUSH_MS,
// FICUS_EVENTS_FLUSH_RECORDS), write-ahead closes the window, and the sequence file counts the gap.

interface Event {
  readonly eventId: string
}

let dir: string
let hole: BlackholeBroker | undefined
let publisher: KafkaPublisher | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-window-'))
})
afterEach(async () => {
  await publisher?.close(300)
  publisher = undefined
  await hole?.close()
  hole = undefined
  await rm(dir, { recursive: true, force: true })
})

/** A publisher whose sends hang for 30 s: only the flush rules can move records to disk. */
async function stuckPublisher(durability: EventDurability): Promise<KafkaPublisher> {
  hole = await startBlackholeBroker()
  publisher = new KafkaPublisher({
    brokers: [hole.brokers],
    clientId: 'ficus-window-test',
    topics: { comparisons: 'c', 'authority-changes': 'a', 'triage-actions': 't' },
    outboxDir: join(dir, 'outbox'),
    requestTimeoutMs: 30_000,
    sendTimeoutMs: 30_000,
    durability,
    logger: capturingLogger().logger,
  })
  await publisher.start()
  return publisher
}

function outboxIdsNow(): string[] {
  const outbox = join(dir, 'outbox')
  return readdirSync(outbox)
    .filter((name) => name.startsWith('segment-'))
    .sort()
    .flatMap((name) => readFileSync(join(outbox, name), 'utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { i: string }).i)
}

describe('the loss window of buffered records', () => {
  it('moves records to the outbox once FICUS_EVENTS_FLUSH_RECORDS wait, at once', async () => {
    const started = await stuckPublisher({ mode: 'buffered', flushMs: 60_000, flushRecords: 10 })
    const sink = started.sink<Event>('comparisons', () => 'k')
    for (let n = 0; n < 25; n++) sink.write({ eventId: `e-${n}` })
    // Synchronously: no wait between the writes and this read.
    expect(outboxIdsNow()).toEqual(Array.from({ length: 20 }, (_, n) => `e-${n}`))
    expect(started.stats()).toMatchObject({ queued: 5, spilled: 20 })
  })

  it('moves records to the outbox after FICUS_EVENTS_FLUSH_MS, even while a send of them hangs', async () => {
    const started = await stuckPublisher({ mode: 'buffered', flushMs: 300, flushRecords: 1_000 })
    const sink = started.sink<Event>('comparisons', () => 'k')
    const writtenAt = performance.now()
    for (let n = 0; n < 5; n++) sink.write({ eventId: `e-${n}` })
    await until(() => started.stats().queued === 0, 'the records to leave memory', { timeoutMs: 5_000 })
    const elapsedMs = performance.now() - writtenAt
    expect(elapsedMs).toBeGreaterThanOrEqual(290)
    expect(elapsedMs).toBeLessThan(1_000)
    expect(outboxIdsNow()).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4'])
  })
})

describe('write-ahead', () => {
  it('Kafka: the record is in the outbox when write returns', async () => {
    const started = await stuckPublisher({ mode: 'write-ahead', flushMs: 60_000, flushRecords: 1_000 })
    const sink = started.sink<Event>('comparisons', () => 'k')
    for (let n = 0; n < 3; n++) {
      sink.write({ eventId: `e-${n}` })
      expect(outboxIdsNow()).toEqual(Array.from({ length: n + 1 }, (_, i) => `e-${i}`))
    }
    expect(started.stats().queued).toBe(0)
  })

  it('JSONL: the line is in the file when write returns', async () => {
    const sink = new JsonlSink<Event>({
      dir: join(dir, 'comparisons'),
      logger: capturingLogger().logger,
      durability: { mode: 'write-ahead', flushMs: 60_000, flushRecords: 1_000 },
    })
    for (let n = 0; n < 3; n++) {
      sink.write({ eventId: `e-${n}` })
      expect(
        readFileSync(join(dir, 'comparisons', 'comparisons.jsonl'), 'utf8')
          .split('\n')
          .filter((line) => line !== ''),
      ).toHaveLength(n + 1)
    }
    expect(sink.stats()).toMatchObject({ written: 3, buffered: 0 })
    await sink.close()
  })
})

describe('the sequence file', () => {
  it('counts what a process accepted and never settled, once, at the next open', async () => {
    const path = join(dir, 'sequence')
    const { sequence } = SequenceFile.open(path, (err) => {
      throw err
    })
    for (let n = 0; n < 5; n++) sequence.accept()
    sequence.settle(2)
    sequence.acceptSettled()
    // The turn ends (one write for its records), then a crash: no close. What the file says is what the next process finds.
    await new Promise((resolve) => setImmediate(resolve))
    // (the settled record taken in the same turn is written with it)
    expect((await readFile(path, 'utf8')).trim().split(' ').map(Number)).toEqual([6, 3])
    const reopened = SequenceFile.open(path, () => undefined)
    expect(reopened.lost).toBe(3)
    reopened.sequence.close()
    expect(SequenceFile.open(path, () => undefined).lost).toBe(0)
    expect((await readdir(dir)).sort()).toEqual(['sequence'])
  })
})

describe('settings', () => {
  it('reads FICUS_EVENTS_DURABILITY, FICUS_EVENTS_FLUSH_MS and FICUS_EVENTS_FLUSH_RECORDS, with defaults', () => {
    expect(readEventDurability({})).toEqual(DEFAULT_EVENT_DURABILITY)
    expect(DEFAULT_EVENT_DURABILITY).toEqual({ mode: 'buffered', flushMs: 1_000, flushRecords: 1_000 })
    expect(readEventDurability({ FICUS_EVENTS_DURABILITY: 'write-ahead', FICUS_EVENTS_FLUSH_MS: '250', FICUS_EVENTS_FLUSH_RECORDS: '50' })).toEqual({
      mode: 'write-ahead',
      flushMs: 250,
      flushRecords: 50,
    })
  })

  it.each([
    ['FICUS_EVENTS_DURABILITY', 'fsync'],
    ['FICUS_EVENTS_FLUSH_MS', '0'],
    ['FICUS_EVENTS_FLUSH_MS', '1.5'],
    ['FICUS_EVENTS_FLUSH_RECORDS', 'many'],
  ])('refuses %s=%s with FICUS_ERR_ENV_INVALID naming the variable', (variable, value) => {
    expect(() => readEventDurability({ [variable]: value })).toThrow(expect.objectContaining({ code: 'FICUS_ERR_ENV_INVALID', details: { variable } }))
  })
})
