import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import type { CapturedPair } from '../../src/capture/captured-pair.ts'
import { openCaptureReader, readCaptureKeys, type CaptureKeys } from '../../src/capture/read-captures.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { ficusErrorCode } from '../helpers/errors.ts'
import { gatewayWithUpstreams, sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { poll } from '../helpers/wait.ts'

// Issue 17, point 2: captured pairs are unreadable without the key, bound to their slice and time,
// never in the logs, and capturing refuses to start without a key.

const KEY = randomBytes(32).toString('base64')
const OTHER_KEY = randomBytes(32).toString('base64')
const LEGACY_MARK = 'legacy-plaintext-5d1f0c'
const MODERN_MARK = 'modern-plaintext-a83e27'
const REQUEST_ID = 'req-capture-7be41a'
const ENTITY = 'POL-CAP-90431'

function capturingConfig(legacyUrl: string, modernUrl: string) {
  const config = sampleConfig(legacyUrl, modernUrl)
  const slice = config.slices['policy-status']!
  slice.entityKey = { param: 'id' }
  slice.shadow = {}
  slice.capture = {}
  return config
}

const fixture = gatewayWithUpstreams({
  config: capturingConfig,
  legacy: (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: 'ACTV', note: LEGACY_MARK }))
  },
  modern: (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: 'ACTIVE', note: MODERN_MARK }))
  },
  gateway: { env: { FICUS_CAPTURE_KEYS: `k1:${KEY}` } },
})

let segmentFile: string
let segmentText: string
let scratch: string

beforeAll(async () => {
  const answer = await send(`${fixture.gateway.url}/policy/${ENTITY}/status`, { headers: { 'x-request-id': REQUEST_ID } })
  expect(answer.status).toBe(200)
  const dir = join(fixture.gateway.dataDir, 'captures', 'policy-status')
  const files = await poll(
    async () => (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.jsonl')),
    (names) => names.length > 0,
  )
  expect(files).toHaveLength(1)
  segmentFile = join(dir, files[0]!)
  segmentText = await poll(
    () => readFile(segmentFile, 'utf8'),
    (text) => text.endsWith('\n'),
  )
  scratch = await mkdtemp(join(tmpdir(), 'ficus-captures-'))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

async function readAll(
  dataDir: string,
  keys: CaptureKeys,
  slice = 'policy-status',
): Promise<{ pairs: CapturedPair[]; unreadable: number; logs: Record<string, unknown>[] }> {
  const { logger, lines } = capturingLogger()
  const reader = openCaptureReader({ dataDir, kafka: undefined, store: 'data-dir', keys, logger })
  const pairs: CapturedPair[] = []
  for await (const pair of reader.pairs(slice, new Date(Date.now() - 3_600_000))) pairs.push(pair)
  await reader.close()
  return { pairs, unreadable: reader.unreadable, logs: lines }
}

/** A data directory of its own holding `lines` as the given slice's segment. */
async function dataDirWith(lines: readonly string[], slice = 'policy-status'): Promise<string> {
  const dataDir = await mkdtemp(join(scratch, 'data-'))
  const dir = join(dataDir, 'captures', slice)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, segmentFile.split('/').at(-1)!), lines.join(''))
  return dataDir
}

describe('captured pairs at rest', () => {
  it('are written as an owner-only hourly segment that holds nothing of the bodies, request id or entity in clear', async () => {
    expect(segmentFile).toMatch(/\/captures\/policy-status\/\d{4}-\d{2}-\d{2}T\d{2}\.jsonl$/)
    expect((await stat(segmentFile)).mode & 0o777).toBe(0o600)
    expect((await stat(join(fixture.gateway.dataDir, 'captures', 'policy-status'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(fixture.gateway.dataDir, 'captures'))).mode & 0o777).toBe(0o700)
    const lines = segmentText.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    for (const secret of [LEGACY_MARK, MODERN_MARK, REQUEST_ID, ENTITY, 'ACTV', 'ACTIVE']) {
      expect(segmentText).not.toContain(secret)
      expect(segmentText).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12))
    }
    const envelope = JSON.parse(lines[0]!) as Record<string, unknown>
    expect(Object.keys(envelope).sort()).toEqual(['capturedAt', 'data', 'iv', 'kid', 'slice', 'v'])
    expect(envelope).toMatchObject({ v: 1, kid: 'k1', slice: 'policy-status' })
    expect(Buffer.from(envelope.iv as string, 'base64')).toHaveLength(12)
  })

  it('decrypt with the key to both answers and the comparison the gateway published', async () => {
    const published = await comparisonOf(fixture.gateway.dataDir, REQUEST_ID)
    const { pairs, unreadable } = await readAll(fixture.gateway.dataDir, parseCaptureKeys(`k1:${KEY}`))
    expect(unreadable).toBe(0)
    expect(pairs).toHaveLength(1)
    const pair = pairs[0]!
    expect(pair).toMatchObject({ version: 1, slice: 'policy-status', route: 'GET /policy/:id/status', method: 'GET', primarySide: 'legacy' })
    expect(pair.legacy.status).toBe(200)
    expect(pair.modern.status).toBe(200)
    expect(Buffer.from(pair.legacy.body, 'base64').toString()).toContain(LEGACY_MARK)
    expect(Buffer.from(pair.modern.body, 'base64').toString()).toContain(MODERN_MARK)
    expect(pair.legacy).toMatchObject({ complete: true, length: Buffer.from(pair.legacy.body, 'base64').length })
    expect(pair.legacy.sha256).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(pair.modern.headers['content-type']).toBe('application/json')
    expect(pair.legacy.headers.connection).toBeUndefined()
    expect(pair.comparison.eventId).toBe(published.eventId)
    expect(pair.comparison.requestId).toBe(REQUEST_ID)
  })

  it('give nothing to another key under the same id, nor to an unknown key id: counted unreadable, warned once with the key id only', async () => {
    const wrong = await readAll(fixture.gateway.dataDir, parseCaptureKeys(`k1:${OTHER_KEY}`))
    expect(wrong.pairs).toEqual([])
    expect(wrong.unreadable).toBe(1)
    const unknown = await readAll(fixture.gateway.dataDir, parseCaptureKeys(`k2:${KEY}`))
    expect(unknown.pairs).toEqual([])
    expect(unknown.unreadable).toBe(1)
    expect(unknown.logs.filter((line) => line.level === 40)).toEqual([expect.objectContaining({ cause: 'unknown-key', kid: 'k1' })])
    expect(wrong.logs.filter((line) => line.level === 40)).toEqual([expect.objectContaining({ cause: 'authentication-failed', kid: 'k1' })])
    for (const line of [...wrong.logs, ...unknown.logs]) expect(JSON.stringify(line)).not.toMatch(new RegExp(`${LEGACY_MARK}|${MODERN_MARK}|${REQUEST_ID}`))
    expect(() => readCaptureKeys({})).toThrow(expect.objectContaining({ code: 'FICUS_ERR_CAPTURE_KEY_MISSING' }))
  })

  it('fail authentication when one byte is changed, or when the record is re-dated or relabelled', async () => {
    const keys = parseCaptureKeys(`k1:${KEY}`)
    const envelope = JSON.parse(segmentText) as Record<string, string>
    const data = Buffer.from(envelope.data!, 'base64')
    const flipped = Buffer.from(data)
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01
    const tag = Buffer.from(data)
    tag[tag.length - 1]! ^= 0x80
    const iv = Buffer.from(envelope.iv!, 'base64')
    iv[0]! ^= 0x01
    const later = new Date(Date.parse(envelope.capturedAt!) + 1).toISOString()
    const variants = [
      { ...envelope, data: flipped.toString('base64') },
      { ...envelope, data: tag.toString('base64') },
      { ...envelope, iv: iv.toString('base64') },
      { ...envelope, capturedAt: later },
    ]
    for (const variant of variants) {
      const { pairs, unreadable } = await readAll(await dataDirWith([`${JSON.stringify(variant)}\n`]), keys)
      expect(pairs, JSON.stringify(Object.keys(variant))).toEqual([])
      expect(unreadable).toBe(1)
    }
    // The same line untouched in a directory of its own still reads: the copies above failed for their change alone.
    expect((await readAll(await dataDirWith([segmentText]), keys)).pairs).toHaveLength(1)
  })

  it('do not read when moved into another slice’s file, whether or not the clear slice name is changed too', async () => {
    const keys = parseCaptureKeys(`k1:${KEY}`)
    const envelope = JSON.parse(segmentText) as Record<string, string>
    for (const line of [segmentText, `${JSON.stringify({ ...envelope, slice: 'billing-eligibility' })}\n`]) {
      const moved = await readAll(await dataDirWith([line], 'billing-eligibility'), keys, 'billing-eligibility')
      expect(moved.pairs).toEqual([])
      expect(moved.unreadable).toBe(1)
    }
  })

  it('leave no trace of the bodies, request id or key in the gateway’s logs', () => {
    const logs = JSON.stringify(fixture.gateway.logs)
    expect(logs).toContain('capturing pairs')
    for (const secret of [LEGACY_MARK, MODERN_MARK, KEY, KEY.slice(0, 16), Buffer.from(KEY, 'base64').toString('hex').slice(0, 16)])
      expect(logs).not.toContain(secret)
    expect(logs).not.toContain(Buffer.from(LEGACY_MARK).toString('base64').slice(0, 12))
  })
})

describe('capturing refuses to start', () => {
  it('without a key: FICUS_ERR_CAPTURE_KEY_MISSING, and nothing is captured in clear', async () => {
    const config = capturingConfig('http://127.0.0.1:4101', 'http://127.0.0.1:4102')
    const dataDir = await mkdtemp(join(scratch, 'nokey-'))
    expect(await ficusErrorCode(startTestGateway(config, { dataDir }))).toBe('FICUS_ERR_CAPTURE_KEY_MISSING')
    expect(await readdir(join(dataDir, 'captures')).catch(() => [])).toEqual([])
  })

  it('with a malformed key: FICUS_ERR_CAPTURE_KEY_INVALID naming the entry, never the key', async () => {
    const config = capturingConfig('http://127.0.0.1:4101', 'http://127.0.0.1:4102')
    const short = randomBytes(31).toString('base64')
    let error: Error | undefined
    try {
      await startTestGateway(config, { dataDir: await mkdtemp(join(scratch, 'badkey-')), env: { FICUS_CAPTURE_KEYS: `k1:${KEY},k2:${short}` } })
    } catch (err) {
      error = err as Error
    }
    expect(error).toMatchObject({ code: 'FICUS_ERR_CAPTURE_KEY_INVALID' })
    expect(error?.message).toMatch(/entry 2: the key is 31 bytes/)
    expect(error?.message).not.toContain(short)
    expect(error?.message).not.toContain(KEY)
  })

  it('with capture.store kafka and no KAFKA_BROKERS: a clear error naming the variable', async () => {
    const config = { ...capturingConfig('http://127.0.0.1:4101', 'http://127.0.0.1:4102'), capture: { store: 'kafka' as const } }
    const failure = startTestGateway(config, { dataDir: await mkdtemp(join(scratch, 'nokafka-')), env: { FICUS_CAPTURE_KEYS: `k1:${KEY}` } })
    const error = (await failure.then(
      () => undefined,
      (err: unknown) => err,
    )) as Error & { code?: string }
    expect(error.code).toBe('FICUS_ERR_ENV_INVALID')
    expect(error.message).toMatch(/^KAFKA_BROKERS: capture.store is "kafka"/)
  })
})
