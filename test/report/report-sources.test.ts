import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Category } from '../../src/compare/classify.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { buildReport, ComparisonAggregator, type Report } from '../../src/report/report.ts'
import { readComparisonsFromJsonl } from '../../src/report/sources/jsonl-source.ts'
import { readComparisonsFromKafka } from '../../src/report/sources/kafka-source.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

// The report's two sources against the same stream, hostile where the readers cut and skip: event
// ids sent twice (exactly-once counting), values that are not comparisons, gzip and plain batches
// on several partitions, a line longer than the JSONL reader's buffer, offset ranges that start and
// end inside a batch. Totals must be exact and both sources must give the same report.

const CATEGORIES: readonly Category[] = ['match', 'match', 'noise', 'timing-lag', 'body-mismatch', 'untranslated', 'shadow-error', 'shadow-skipped']
const SLICES = ['coverage-status', 'billing-eligibility', 'claim-lodgement']
const start = Date.parse('2026-11-30T08:00:00Z')

function stream(count: number): Comparison[] {
  return Array.from({ length: count }, (_, i) =>
    comparison({
      slice: SLICES[i % SLICES.length] as string,
      category: CATEGORIES[i % CATEGORIES.length] as Category,
      eventTime: new Date(start + i * 1_000),
      legacyMs: 3 + (i % 40),
      modernMs: 4 + (i % 55),
      ...(i % CATEGORIES.length === 4 ? { diffPaths: ['/body/eligible'] } : {}),
    }),
  )
}

const unique = stream(3_000)
// Every tenth comparison comes again, later in the stream, as a redelivery would.
const redelivered = unique.filter((_, i) => i % 10 === 0)
// One comparison with a field far longer than the JSONL reader's 1 MiB buffer.
const long = comparison({ slice: 'coverage-status', category: 'untranslated', untranslated: [{ path: '/body/note', value: 'x'.repeat(1_500_000) }] })
const all = [...unique.slice(0, 1_500), ...redelivered, ...unique.slice(1_500), long]
const NOT_COMPARISONS = 2

function expected(): Report {
  const aggregator = new ComparisonAggregator()
  for (const record of all) aggregator.add(record)
  return report(aggregator)
}

function report(aggregator: ComparisonAggregator): Report {
  return buildReport(aggregator, [], { source: 'test', window: { from: null, to: null }, now: start })
}

/**
 * A report without what depends on the order records arrive in, which partitions interleave: when it
 * was made, the order unconfigured slices were first seen in, which request is an example.
 */
function comparable(made: Report): unknown {
  const sorted = { ...made, generatedAt: null, slices: [...made.slices].sort((a, b) => a.slice.localeCompare(b.slice)) }
  return JSON.parse(JSON.stringify(sorted, (key, value: unknown) => (key === 'exampleRequestId' ? null : value))) as unknown
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-report-sources-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the report sources give exact totals', () => {
  it('JSONL: rotated and current files, a blank line, lines that are no comparison, a line longer than the read buffer', async () => {
    const comparisons = join(dir, 'comparisons')
    await mkdir(comparisons, { recursive: true })
    const lines = all.map((record) => JSON.stringify(record))
    const half = 2_000
    await writeFile(join(comparisons, 'comparisons-2026-11-30T08.jsonl'), `${lines.slice(0, half).join('\n')}\n\n{"truncated": \n`)
    // CRLF line ends, and the last line (valid JSON but no comparison) without one.
    await writeFile(join(comparisons, 'comparisons.jsonl'), `${lines.slice(half).join('\r\n')}\n{"eventType":"other"}`)

    const aggregator = new ComparisonAggregator()
    const { files, invalid } = await readComparisonsFromJsonl(comparisons, (record) => aggregator.add(record))
    expect(files).toBe(2)
    expect(invalid).toBe(NOT_COMPARISONS)
    expect(aggregator.counts).toEqual({ read: all.length, duplicates: redelivered.length, outsideWindow: 0 })
    expect(comparable(report(aggregator))).toEqual(comparable(expected()))
  })

  it('Kafka: three partitions, gzip and plain batches, values that are no comparison', async () => {
    const brokers = inject('kafkaBrokers')
    const topic = `report-sources-${Date.now()}`
    const kafka = createKafkaClient({ clientId: 'report-sources-test', brokers: [brokers] })
    const admin = await kafka.admin()
    await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }])
    await admin.close()
    const gzip = await kafka.producer({ idempotent: false })
    const plain = await kafka.producer({ idempotent: false, compress: false })
    const values = [...all.map((record) => JSON.stringify(record)), 'not json', '{"eventType":"other"}']
    for (let from = 0, batch = 0; from < values.length; from += 250, batch++) {
      const messages = values.slice(from, from + 250).map((value, i) => ({ key: String((from + i) % 7), value }))
      // The long record goes gzipped: plain, it is over the broker's largest batch.
      await (batch % 2 === 0 || from + 250 >= all.length ? gzip : plain).send([{ topic, messages }])
    }
    await gzip.close()
    await plain.close()

    const aggregator = new ComparisonAggregator()
    const { invalid } = await readComparisonsFromKafka({ brokers: [brokers], topic, from: null, to: null }, (record) => aggregator.add(record))
    expect(invalid).toBe(NOT_COMPARISONS)
    expect(aggregator.counts).toEqual({ read: all.length, duplicates: redelivered.length, outsideWindow: 0 })
    expect(comparable(report(aggregator))).toEqual(comparable(expected()))
  })

  it('Kafka: a range that starts and ends inside batches reads exactly its offsets, in order', async () => {
    const brokers = inject('kafkaBrokers')
    const topic = `report-ranges-${Date.now()}`
    const kafka = createKafkaClient({ clientId: 'report-ranges-test', brokers: [brokers] })
    const admin = await kafka.admin()
    await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }])
    await admin.close()
    const producer = await kafka.producer({ idempotent: false })
    for (let from = 0; from < 1_000; from += 100)
      await producer.send([{ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: 'k', value: `value ${from + i}` })) }])
    await producer.close()

    const read: (string | null)[] = []
    await kafka.readRanges(topic, [{ partition: 0, start: 150n, end: 777n }], (value) => read.push(value), { maxBytes: 4_096, maxBytesPerPartition: 2_048 })
    expect(read).toEqual(Array.from({ length: 777 - 150 }, (_, i) => `value ${150 + i}`))
    kafka.closeAll()
  })
})
