import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bucketOf } from '../../src/authority/sticky-bucket.ts'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import type { CapturedPair } from '../../src/capture/captured-pair.ts'
import { openCaptureReader } from '../../src/capture/read-captures.ts'
import { readComparisons } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

// Which pairs are captured: the capture sample of the shadowed requests (bucketed by request id in a
// namespace of its own), only when both sides answered; and a shutdown writes what is still queued.

const KEY = randomBytes(32).toString('base64')
const env = { FICUS_CAPTURE_KEYS: `k1:${KEY}` }
let legacy: TestUpstream
let modern: TestUpstream
let scratch: string

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  scratch = await mkdtemp(join(tmpdir(), 'ficus-capture-sample-'))
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await rm(scratch, { recursive: true, force: true })
})

async function captured(dataDir: string): Promise<CapturedPair[]> {
  const reader = openCaptureReader({
    dataDir,
    kafka: undefined,
    store: 'data-dir',
    keys: parseCaptureKeys(env.FICUS_CAPTURE_KEYS),
    logger: capturingLogger().logger,
  })
  const pairs: CapturedPair[] = []
  for await (const pair of reader.pairs('policy-status', new Date(Date.now() - 3_600_000))) pairs.push(pair)
  expect(reader.unreadable).toBe(0)
  return pairs
}

describe('the capture sample', () => {
  it('captures exactly the sampled requests, and the shutdown writes the queued ones', async () => {
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = {}
    config.slices['policy-status']!.capture = { percent: 40 }
    const dataDir = await mkdtemp(join(scratch, 'data-'))
    const gateway = await startTestGateway(config, { dataDir, env })
    const ids = Array.from({ length: 30 }, (_, i) => `sample-${i}`)
    for (const id of ids) expect((await send(`${gateway.url}/policy/P-${id}/status`, { headers: { 'x-request-id': id } })).status).toBe(200)
    // No waiting for the writer: closing the gateway judges the last runs and writes their captures.
    await gateway.stop({ keepData: true })
    const expected = ids.filter((id) => bucketOf('capture:policy-status', id) < 4_000).sort()
    expect(expected.length).toBeGreaterThan(3)
    expect(expected.length).toBeLessThan(27)
    expect((await captured(dataDir)).map((pair) => pair.comparison.requestId).sort()).toEqual(expected)
    expect((await readComparisons(dataDir)).records).toHaveLength(30)
  })

  it('captures nothing when the shadow side did not answer', async () => {
    const config = sampleConfig(legacy.url, 'http://127.0.0.1:1')
    config.slices['policy-status']!.shadow = {}
    config.slices['policy-status']!.capture = {}
    const dataDir = await mkdtemp(join(scratch, 'data-'))
    const gateway = await startTestGateway(config, { dataDir, env })
    try {
      expect((await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'dead-shadow' } })).status).toBe(200)
      await until(async () => (await readComparisons(dataDir)).records.length === 1, 'the comparison')
      expect((await readComparisons(dataDir)).records[0]?.category).toBe('shadow-error')
      const metrics = await send(`${gateway.adminUrl}/metrics`)
      expect(metrics.body).not.toMatch(/ficus_captures_total\{[^}]*result="written"/)
    } finally {
      await gateway.stop({ keepData: true })
    }
    expect(await captured(dataDir)).toEqual([])
    expect(await readdir(join(dataDir, 'captures', 'policy-status'))).toEqual([])
  })

  it('counts what it writes in ficus_captures_total', async () => {
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = {}
    config.slices['policy-status']!.capture = {}
    const dataDir = await mkdtemp(join(scratch, 'data-'))
    const gateway = await startTestGateway(config, { dataDir, env })
    try {
      for (let i = 0; i < 3; i++) expect((await send(`${gateway.url}/policy/P-${i}/status`)).status).toBe(200)
      await until(
        async () => /ficus_captures_total\{slice="policy-status",result="written"\} 3/.test((await send(`${gateway.adminUrl}/metrics`)).body),
        'three written captures counted',
      )
      const segment = (await readdir(join(dataDir, 'captures', 'policy-status')))[0]!
      expect((await readFile(join(dataDir, 'captures', 'policy-status', segment), 'utf8')).trimEnd().split('\n')).toHaveLength(3)
    } finally {
      await gateway.stop()
    }
  })
})
