import { writeFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { SHADOW_SKIP_CAUSES, type ShadowSkips } from '../../src/publish/shadow-skips.ts'
import { ShadowSkipsSchema } from '../../src/publish/shadow-skips-schema.ts'
import { readComparisons, readShadowSkips } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { schemaErrors } from '../helpers/json-schema.ts'
import { runFicus } from '../helpers/processes.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

// Issue 18, point 2: what is skipped costs a counter. A skip decided before the run opens (outside
// the sample, an unsafe write, the shadow breaker open, the shadow queue full) writes no comparison;
// it is counted per slice and cause and published as a ShadowSkips event per window, and at
// shutdown. Every request of a shadowed slice is accounted for: comparisons + skips counted = N.

let gateway: TestGateway | undefined
const started: TestUpstream[] = []
const dirs: string[] = []

afterEach(async () => {
  await gateway?.stop()
  gateway = undefined
  await Promise.all(started.splice(0).map((upstream) => upstream.close()))
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A URL on which nothing listens: every connection is refused. */
async function refusingUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/** Sends `n` requests at once (each on its own connection); every one must be answered 200 by legacy. */
async function burst(url: string, n: number, prefix: string): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => send(`${url}/policy/P-${i}/status`, { headers: { 'x-request-id': `${prefix}-${i}` } })))
  expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
}

/** Skips by cause: those counted in the aggregates, and those still recorded with their comparison (a breaker that opened during the run). */
function skipsByCause(aggregates: readonly ShadowSkips[], recorded: readonly { category: string; cause: string | null }[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const event of aggregates) for (const [cause, count] of Object.entries(event.counts)) out[cause] = (out[cause] ?? 0) + (count ?? 0)
  for (const record of recorded) if (record.category === 'shadow-skipped' && record.cause !== null) out[record.cause] = (out[record.cause] ?? 0) + 1
  return out
}

/** Runs `n` requests through a gateway with this config, stops it (the last window is published), and returns what it wrote. */
async function runAndStop(config: GatewayConfigInput, n: number, prefix: string) {
  gateway = await startTestGateway(config)
  const { url, dataDir } = gateway
  dirs.push(dataDir)
  await burst(url, n, prefix)
  await gateway.stop({ keepData: true })
  gateway = undefined
  const comparisons = (await readComparisons(dataDir)).records
  const aggregates = await readShadowSkips(dataDir)
  return { dataDir, comparisons, aggregates }
}

/** `ficus report --format json` over the data directory: the one slice's `skipped`, `records` and the read counts. */
async function report(dataDir: string, config: GatewayConfigInput): Promise<{ skipped: Record<string, number>; records: number; read: number }> {
  const file = join(dataDir, 'routes.config.ts')
  await writeFile(file, `export default ${JSON.stringify(config)}\n`)
  const result = await runFicus(['report', '--config', file, '--data-dir', dataDir, '--format', 'json'])
  expect(result.stderr).toBe('')
  const json = JSON.parse(result.stdout) as { read: number; slices: { slice: string; skipped: Record<string, number>; records: number }[] }
  const slice = json.slices.find((entry) => entry.slice === 'policy-status')!
  return { skipped: slice.skipped, records: slice.records, read: json.read }
}

function expectWellFormed(aggregates: readonly ShadowSkips[]): void {
  for (const event of aggregates) {
    expect(schemaErrors(ShadowSkipsSchema, event)).toEqual([])
    expect(event).toMatchObject({ slice: 'policy-status', instance: 'test-gw' })
    expect(Date.parse(event.windowStart)).toBeLessThanOrEqual(Date.parse(event.windowEnd))
    expect(event.total).toBe(Object.values(event.counts).reduce((sum, count) => sum + (count ?? 0), 0))
  }
}

describe('skips cost a counter, and every request is accounted for', () => {
  it('a modern side that refuses connections: comparisons only for real runs; comparisons + counted skips = N; the report counts the same skips', async () => {
    const legacy = await startUpstream('legacy')
    started.push(legacy)
    const config = sampleConfig(legacy.url, await refusingUrl(), { gateway: { shadow: { concurrency: 4, queue: 4 } } })
    config.slices['policy-status']!.shadow = {}
    const N = 200
    const { dataDir, comparisons, aggregates } = await runAndStop(config, N, 'refused')

    // No record for a skip decided before the run: every comparison is a run that was opened.
    for (const record of comparisons) expect(['queue-full', 'unsafe-write', 'sampled-out']).not.toContain(record.cause)
    expect(aggregates.length).toBeGreaterThan(0)
    expectWellFormed(aggregates)
    const counted = aggregates.reduce((sum, event) => sum + event.total, 0)
    expect(comparisons.length + counted).toBe(N)
    // The breaker opened on the refusals, and was then asked without a call.
    expect(aggregates.some((event) => (event.counts['breaker-open'] ?? 0) > 0)).toBe(true)
    expect(comparisons.length).toBeLessThan(N / 2)

    const reported = await report(dataDir, config)
    expect(reported.skipped).toEqual(skipsByCause(aggregates, comparisons))
    expect(reported.records).toBe(N)
  })

  it('a modern side 200 ms slow with small shadow limits: the full queue is counted, not recorded; comparisons + counted skips = N', async () => {
    const legacy = await startUpstream('legacy')
    const modern = await startUpstream('modern', async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 200))
      response.setHeader('content-type', 'application/json')
      response.end('{}')
    })
    started.push(legacy, modern)
    const config = sampleConfig(legacy.url, modern.url, { gateway: { shadow: { concurrency: 2, queue: 2 } } })
    config.slices['policy-status']!.shadow = {}
    const N = 80
    const { dataDir, comparisons, aggregates } = await runAndStop(config, N, 'slow')

    expectWellFormed(aggregates)
    for (const record of comparisons) expect(record.cause).not.toBe('queue-full')
    const counted = aggregates.reduce((sum, event) => sum + event.total, 0)
    expect(comparisons.length + counted).toBe(N)
    expect(skipsByCause(aggregates, [])['queue-full']).toBeGreaterThan(0)
    // Only what had a place in the shadow queue was called.
    expect(modern.requests.length).toBe(comparisons.length)

    const reported = await report(dataDir, config)
    expect(reported.skipped).toEqual(skipsByCause(aggregates, comparisons))
    expect(reported.records).toBe(N)
  })

  it('sampling at 10 %: the other ~90 % are counted as sampled-out, and the report shows them', async () => {
    const legacy = await startUpstream('legacy')
    const modern = await startUpstream('modern')
    started.push(legacy, modern)
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = { sample: 10 }
    const N = 300
    const { dataDir, comparisons, aggregates } = await runAndStop(config, N, 'sampled')

    expectWellFormed(aggregates)
    const sampledOut = skipsByCause(aggregates, [])['sampled-out'] ?? 0
    expect(comparisons.length + sampledOut).toBe(N)
    expect(sampledOut).toBeGreaterThan(0.8 * N)
    expect(sampledOut).toBeLessThan(0.97 * N)
    expect(modern.requests.length).toBe(comparisons.length)

    const reported = await report(dataDir, config)
    expect(reported.skipped).toEqual({ 'sampled-out': sampledOut })
  })

  it('publishes a window every gateway.shadow.skipsIntervalMs while running, only for slices with skips, never an empty one', async () => {
    const legacy = await startUpstream('legacy')
    const modern = await startUpstream('modern')
    started.push(legacy, modern)
    const config = sampleConfig(legacy.url, modern.url, { gateway: { shadow: { skipsIntervalMs: 200 } } })
    config.slices['policy-status']!.shadow = { sample: 0 }
    gateway = await startTestGateway(config)
    const { dataDir } = gateway
    const sampledOut = async (): Promise<number> => (await readShadowSkips(dataDir)).reduce((sum, event) => sum + (event.counts['sampled-out'] ?? 0), 0)
    await burst(gateway.url, 5, 'window')
    await until(async () => (await sampledOut()) === 5, 'the first five skips published while running')
    const published = (await readShadowSkips(dataDir)).length
    // Windows without skips publish nothing.
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(await readShadowSkips(dataDir)).toHaveLength(published)
    await burst(gateway.url, 3, 'window-2')
    await until(async () => (await sampledOut()) === 8, 'the next three')
    const events = await readShadowSkips(dataDir)
    for (const event of events) expect(Object.keys(event.counts)).toEqual(['sampled-out'])
    // An instance's windows follow one another without overlap.
    for (let i = 1; i < events.length; i++) expect(Date.parse(events[i]!.windowStart)).toBeGreaterThanOrEqual(Date.parse(events[i - 1]!.windowEnd))
    const metrics = (await send(`${gateway.adminUrl}/metrics`)).body
    expect(metrics).toMatch(/^ficus_shadow_skipped_total\{slice="policy-status",reason="sampled-out"\} 8$/m)
    expect(SHADOW_SKIP_CAUSES).toContain('sampled-out')
  })
})
