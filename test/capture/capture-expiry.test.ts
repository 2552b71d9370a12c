import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sealPair } from '../../src/capture/capture-envelope.ts'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import { CAPTURE_FORMAT_VERSION, type CapturedPair } from '../../src/capture/captured-pair.ts'
import { FileCaptureStore } from '../../src/capture/file-capture-store.ts'
import { openCaptureStore } from '../../src/capture/open-capture-store.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig } from '../helpers/gateway.ts'
import { until } from '../helpers/wait.ts'

// Found in review: captures outlived their retention — a segment is an hour of records, and it was
// only deleted once its whole hour had expired (a record could stay an hour past its retention, a
// short retention never had its records deleted in time); and captures left in the data directory
// by an earlier config (capture switched off, or moved to Kafka) were never purged at all.

const keys = parseCaptureKeys(`k1:${randomBytes(32).toString('base64')}`)
const SLICE = 'policy-status'

let dataDir: string
let store: { close(): Promise<void> } | undefined
const purged: number[] = []
const metrics = { recordCapture: () => undefined, recordCapturePurged: (_slice: string, count: number) => void purged.push(count) }

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ficus-capture-expiry-'))
  purged.length = 0
})
afterEach(async () => {
  await store?.close()
  store = undefined
  await rm(dataDir, { recursive: true, force: true })
})

function pair(at: number, note: string): CapturedPair {
  const answer = {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ note })).toString('base64'),
    complete: true,
  }
  return {
    version: CAPTURE_FORMAT_VERSION,
    capturedAt: new Date(at).toISOString(),
    slice: SLICE,
    route: 'GET /policy/:id/status',
    method: 'GET',
    primarySide: 'legacy',
    legacy: { ...answer, length: 10, sha256: `sha256:${'0'.repeat(64)}` },
    modern: { ...answer, length: 10, sha256: `sha256:${'1'.repeat(64)}` },
    comparison: comparison({ slice: SLICE, eventTime: new Date(at) }),
  }
}

const segmentDir = (): string => join(dataDir, 'captures', SLICE)
const linesOf = async (name: string): Promise<{ capturedAt: string }[]> =>
  (await readFile(join(segmentDir(), name), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { capturedAt: string })

describe('captures are gone once their retention ends, not once their hour does', () => {
  it('deletes the expired records of a segment whose hour has not ended yet, keeping the others (file 0600)', async () => {
    let now = Date.parse('2026-03-01T12:10:00Z')
    const slices = new Map([[SLICE, { sampleBasisPoints: 10_000, retentionHours: 0.25, maxBytes: 1024 * 1024 }]])
    const writer = new FileCaptureStore({ dataDir, slices, keys, logger: capturingLogger().logger, metrics, now: () => now, purgeIntervalMs: 3_600_000 })
    store = writer
    await writer.open()
    writer.write(pair(Date.parse('2026-03-01T12:05:00Z'), 'old'))
    writer.write(pair(Date.parse('2026-03-01T12:25:00Z'), 'fresh'))
    await writer.flush()
    await writer.purge()
    expect(await linesOf('2026-03-01T12.jsonl')).toHaveLength(2)

    // 12:21: the 12:05 record's 15 minutes are over; the segment's hour is not.
    now = Date.parse('2026-03-01T12:21:00Z')
    await writer.purge()
    expect((await linesOf('2026-03-01T12.jsonl')).map((line) => line.capturedAt)).toEqual(['2026-03-01T12:25:00.000Z'])
    expect(purged).toEqual([1])
    expect((await stat(join(segmentDir(), '2026-03-01T12.jsonl'))).mode & 0o777).toBe(0o600)

    // Appends go on into the rewritten segment; once all its records expired, it is gone.
    writer.write(pair(Date.parse('2026-03-01T12:26:00Z'), 'later'))
    await writer.flush()
    expect((await linesOf('2026-03-01T12.jsonl')).map((line) => line.capturedAt)).toEqual(['2026-03-01T12:25:00.000Z', '2026-03-01T12:26:00.000Z'])
    now = Date.parse('2026-03-01T12:42:00Z')
    await writer.purge()
    expect(await readdir(segmentDir())).toEqual([])
    expect(purged).toEqual([1, 2])
  })

  it('purges a short retention on its own round, without an injected clock', async () => {
    const slices = new Map([[SLICE, { sampleBasisPoints: 10_000, retentionHours: 0.0005, maxBytes: 1024 * 1024 }]]) // 1.8 s
    const writer = new FileCaptureStore({ dataDir, slices, keys, logger: capturingLogger().logger, metrics })
    store = writer
    await writer.open()
    writer.write(pair(Date.now(), 'short-lived'))
    await writer.flush()
    expect(await readdir(segmentDir())).toHaveLength(1)
    await until(async () => (await readdir(segmentDir())).length === 0, 'the expired capture to be deleted', { timeoutMs: 8_000 })
  })
})

describe('captures left by an earlier config are still purged', () => {
  async function leftover(): Promise<string> {
    await mkdir(segmentDir(), { recursive: true, mode: 0o700 })
    const old = Date.parse('2020-01-01T00:10:00Z')
    const name = '2020-01-01T00.jsonl'
    await writeFile(join(segmentDir(), name), `${JSON.stringify(sealPair(pair(old, 'left behind'), keys))}\n`, { mode: 0o600 })
    return name
  }

  it('when no slice captures any more (and no key is set)', async () => {
    await leftover()
    const config = validateConfig(sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2'))
    store = await openCaptureStore({ config, dataDir, kafka: undefined, keys: undefined, logger: capturingLogger().logger, metrics })
    expect(await readdir(segmentDir())).toEqual([])
  })

  it('when captures moved to the Kafka topic', async () => {
    await leftover()
    const base = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    base.slices[SLICE]!.shadow = {}
    base.slices[SLICE]!.capture = { retentionHours: 1 }
    base.capture = { store: 'kafka' }
    const config = validateConfig(base)
    const kafka = { brokers: ['127.0.0.1:1'], clientId: 'ficus-test', topics: { comparisons: 'c', authority: 'a', triage: 't' } } as never
    store = await openCaptureStore({ config, dataDir, kafka, keys, logger: capturingLogger().logger, metrics })
    expect(await readdir(segmentDir())).toEqual([])
  })
})

describe('the size bound and a capture larger than it', () => {
  it('drops the capture alone, keeping the older hours it could never have made room among', async () => {
    let now = Date.parse('2026-03-01T10:10:00Z')
    const dropped: string[] = []
    const counting = { ...metrics, recordCapture: (_slice: string, result: string) => void dropped.push(result) }
    const slices = new Map([[SLICE, { sampleBasisPoints: 10_000, retentionHours: 24, maxBytes: 8 * 1024 }]])
    const writer = new FileCaptureStore({
      dataDir,
      slices,
      keys,
      logger: capturingLogger().logger,
      metrics: counting,
      now: () => now,
      purgeIntervalMs: 3_600_000,
    })
    store = writer
    await writer.open()
    writer.write(pair(now, 'ten'))
    await writer.flush()
    now = Date.parse('2026-03-01T11:10:00Z')
    writer.write(pair(now, 'x'.repeat(16 * 1024)))
    writer.write(pair(now + 1_000, 'eleven'))
    await writer.flush()
    expect(await readdir(segmentDir())).toEqual(['2026-03-01T10.jsonl', '2026-03-01T11.jsonl'])
    expect(dropped).toEqual(['written', 'dropped-size', 'written'])
    expect(purged).toEqual([])
  })
})
