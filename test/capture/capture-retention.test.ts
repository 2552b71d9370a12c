import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import type { CaptureMetrics, CaptureResult } from '../../src/capture/capture-queue.ts'
import { CAPTURE_FORMAT_VERSION, type CapturedPair } from '../../src/capture/captured-pair.ts'
import { FileCaptureStore } from '../../src/capture/file-capture-store.ts'
import { openCaptureReader } from '../../src/capture/read-captures.ts'
import type { CaptureConfig } from '../../src/config/types.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig } from '../helpers/gateway.ts'

// Captures are gone after their retention (segments purged at start and every minute; the reader
// skips expired records meanwhile) and stay within their slice's size bound. The clock is injected.

const keys = parseCaptureKeys(`k1:${randomBytes(32).toString('base64')}`)
const HOUR = 3_600_000
/** 2026-03-01 12:30 UTC. */
const NOON_THIRTY = Date.parse('2026-03-01T12:30:00Z')

let dataDir: string
let now: number
let store: FileCaptureStore | undefined
const counted: { slice: string; result: CaptureResult | 'purged'; count: number }[] = []
const metrics: CaptureMetrics = {
  recordCapture: (slice, result, count = 1) => counted.push({ slice, result, count }),
  recordCapturePurged: (slice, count) => counted.push({ slice, result: 'purged', count }),
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ficus-capture-retention-'))
  now = NOON_THIRTY
  counted.length = 0
})
afterEach(async () => {
  await store?.close()
  store = undefined
  await rm(dataDir, { recursive: true, force: true })
})

function pair(at: number, note = 'x'): CapturedPair {
  const answer = {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ note })).toString('base64'),
    complete: true,
  }
  return {
    version: CAPTURE_FORMAT_VERSION,
    capturedAt: new Date(at).toISOString(),
    slice: 'policy-status',
    route: 'GET /policy/:id/status',
    method: 'GET',
    primarySide: 'legacy',
    legacy: { ...answer, length: 10, sha256: `sha256:${'0'.repeat(64)}` },
    modern: { ...answer, length: 10, sha256: `sha256:${'1'.repeat(64)}` },
    comparison: comparison({ slice: 'policy-status', eventTime: new Date(at) }),
  }
}

async function openStore(capture: Partial<CaptureConfig>): Promise<FileCaptureStore> {
  const slices = new Map([['policy-status', { sampleBasisPoints: 10_000, retentionHours: 1, maxBytes: 1024 * 1024, ...capture }]])
  store = new FileCaptureStore({ dataDir, slices, keys, logger: capturingLogger().logger, metrics, now: () => now, purgeIntervalMs: 3_600_000 })
  await store.open()
  return store
}

async function segments(): Promise<string[]> {
  return (await readdir(join(dataDir, 'captures', 'policy-status'))).sort()
}

async function readPairs(retentionHours: number): Promise<CapturedPair[]> {
  const base = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
  base.slices['policy-status']!.shadow = {}
  base.slices['policy-status']!.capture = { retentionHours }
  const reader = openCaptureReader({
    dataDir,
    kafka: undefined,
    store: 'data-dir',
    keys,
    logger: capturingLogger().logger,
    config: validateConfig(base),
    now: () => now,
  })
  const found: CapturedPair[] = []
  for await (const one of reader.pairs('policy-status', new Date(0))) found.push(one)
  return found
}

describe('capture retention', () => {
  it('purges, at start and then on its round, the segments whose hour ended more than the retention ago', async () => {
    const writer = await openStore({ retentionHours: 1 })
    writer.write(pair(NOON_THIRTY - 3 * HOUR)) // 09:30 → segment 09, ended 10:00
    writer.write(pair(NOON_THIRTY - 3 * HOUR + 60_000))
    writer.write(pair(NOON_THIRTY - HOUR)) // 11:30 → segment 11, ended 12:00
    writer.write(pair(NOON_THIRTY))
    await writer.flush()
    expect(await segments()).toEqual(['2026-03-01T09.jsonl', '2026-03-01T11.jsonl', '2026-03-01T12.jsonl'])
    await writer.close()

    // A restart purges at once what expired: hour 09 ended 2.5 h ago.
    await openStore({ retentionHours: 1 })
    expect(await segments()).toEqual(['2026-03-01T11.jsonl', '2026-03-01T12.jsonl'])
    expect(counted.filter((entry) => entry.result === 'purged')).toEqual([{ slice: 'policy-status', result: 'purged', count: 2 }])

    // Later, the round purges hour 11 once it ended more than an hour ago (13:00 + a moment).
    now = Date.parse('2026-03-01T13:00:01Z')
    await store!.purge()
    expect(await segments()).toEqual(['2026-03-01T12.jsonl'])
  })

  it('has the reader skip records older than their retention before their segment is purged', async () => {
    const writer = await openStore({ retentionHours: 1 })
    writer.write(pair(NOON_THIRTY - 90 * 60_000, 'old')) // 11:00: its segment stays until 13:00, the record expired at 12:00
    writer.write(pair(NOON_THIRTY - 10 * 60_000, 'fresh'))
    await writer.flush()
    expect(await segments()).toEqual(['2026-03-01T11.jsonl', '2026-03-01T12.jsonl'])
    const notes = (await readPairs(1)).map((found) => JSON.parse(Buffer.from(found.legacy.body, 'base64').toString()) as { note: string })
    expect(notes).toEqual([{ note: 'fresh' }])
    expect(await readPairs(2)).toHaveLength(2)
  })
})

describe('capture size bound', () => {
  it('deletes the oldest segments before the total would pass maxBytes, then drops within the current hour', async () => {
    const probe = await openStore({ maxBytes: 1024 * 1024 })
    probe.write(pair(NOON_THIRTY - 5 * HOUR))
    await probe.flush()
    const lineBytes = (await stat(join(dataDir, 'captures', 'policy-status', '2026-03-01T07.jsonl'))).size
    await probe.close()
    await rm(join(dataDir, 'captures'), { recursive: true })
    counted.length = 0

    // Room for three records and a half.
    const writer = await openStore({ maxBytes: Math.floor(lineBytes * 3.5), retentionHours: 24 })
    writer.write(pair(NOON_THIRTY - 2 * HOUR))
    writer.write(pair(NOON_THIRTY - HOUR))
    writer.write(pair(NOON_THIRTY))
    await writer.flush()
    expect(await segments()).toEqual(['2026-03-01T10.jsonl', '2026-03-01T11.jsonl', '2026-03-01T12.jsonl'])
    writer.write(pair(NOON_THIRTY + 1_000))
    await writer.flush()
    expect(await segments()).toEqual(['2026-03-01T11.jsonl', '2026-03-01T12.jsonl'])
    writer.write(pair(NOON_THIRTY + 2_000))
    writer.write(pair(NOON_THIRTY + 3_000))
    await writer.flush()
    // Hour 11 gave way, then the current hour alone holds three: the fourth is dropped.
    expect(await segments()).toEqual(['2026-03-01T12.jsonl'])
    const current = (await stat(join(dataDir, 'captures', 'policy-status', '2026-03-01T12.jsonl'))).size
    expect(current).toBe(3 * lineBytes)
    const sum = (result: string): number => counted.filter((entry) => entry.result === result).reduce((total, entry) => total + entry.count, 0)
    expect(sum('written')).toBe(5)
    expect(sum('dropped-size')).toBe(1)
    expect(sum('purged')).toBe(2)
    // Dropped until the next hour, even a record that would fit after a deletion elsewhere.
    writer.write(pair(NOON_THIRTY + 4_000))
    await writer.flush()
    expect(sum('dropped-size')).toBe(2)
    // The next hour writes again: the full hour before it gives way.
    writer.write(pair(NOON_THIRTY + HOUR))
    await writer.flush()
    expect(await segments()).toEqual(['2026-03-01T13.jsonl'])
    expect(sum('written')).toBe(6)
    expect(sum('purged')).toBe(5)
  })

  it('drops and counts when the write queue is full, without waiting', async () => {
    const slices = new Map([['policy-status', { sampleBasisPoints: 10_000, retentionHours: 1, maxBytes: 1024 * 1024 }]])
    store = new FileCaptureStore({
      dataDir,
      slices,
      keys,
      logger: capturingLogger().logger,
      metrics,
      now: () => now,
      queue: { records: 2, bytes: 1024 * 1024 },
    })
    await store.open()
    for (let i = 0; i < 5; i++) store.write(pair(NOON_THIRTY + i))
    expect(counted.filter((entry) => entry.result === 'dropped-queue')).toHaveLength(3)
    await store.flush()
    expect(counted.filter((entry) => entry.result === 'written').reduce((total, entry) => total + entry.count, 0)).toBe(2)
  })

  it('writes everything still queued when it is closed', async () => {
    const writer = await openStore({ maxBytes: 64 * 1024 * 1024 })
    for (let i = 0; i < 600; i++) writer.write(pair(NOON_THIRTY + i))
    await writer.close()
    store = undefined
    const text = await readFile(join(dataDir, 'captures', 'policy-status', '2026-03-01T12.jsonl'), 'utf8')
    expect(text.trimEnd().split('\n')).toHaveLength(600)
    expect(counted.filter((entry) => entry.result === 'written').reduce((total, entry) => total + entry.count, 0)).toBe(600)
  })
})
