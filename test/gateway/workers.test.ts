import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DISCREPANCIES_FILE } from '../../src/app/data-dir.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { FileDiscrepancyRegister } from '../../src/register/file-discrepancy-register.ts'
import { PERMISSIVE_READINESS, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { FICUS_BIN, runFicus, spawnNode, type Spawned } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { closedPort, upstreamPair } from '../helpers/upstream-server.ts'

// `ficus start --workers 2` as an operator runs it: real processes on one ephemeral port, real
// upstreams, the embedded store or Redis. Which process answered is read from the aggregated
// /metrics (ficus_worker_requests_total{worker,pid}), never from anything a client sees.

const upstreams = upstreamPair()
let dir: string
let spawned: Spawned | undefined
let prefix: string | undefined
/** Requests sent through the gateway in this test (each answered 200). */
let sentCount = 0

beforeEach(async () => {
  sentCount = 0
  dir = await mkdtemp(join(tmpdir(), 'ficus-workers-'))
})
afterEach(async () => {
  if (spawned && spawned.child.exitCode === null && spawned.child.signalCode === null) {
    spawned.child.kill('SIGKILL')
    await spawned.finished
  }
  spawned = undefined
  if (prefix) await dropPrefix(prefix)
  prefix = undefined
  await rm(dir, { recursive: true, force: true })
})

interface Workers {
  readonly url: string
  readonly adminUrl: string
  readonly pids: number[]
  readonly dataDir: string
  readonly config: string
}

async function startWorkers(env: NodeJS.ProcessEnv = {}, args: string[] = ['--workers', '2']): Promise<Workers> {
  const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { shutdownTimeoutMs: 5_000 }, readiness: PERMISSIVE_READINESS })
  config.slices['policy-status']!.shadow = {}
  const file = join(dir, 'routes.config.ts')
  await writeFile(file, `export default ${JSON.stringify(config)}\n`)
  const dataDir = join(dir, 'data')
  spawned = spawnNode([FICUS_BIN, 'start', '--config', file, ...args], { PORT: '0', HOST: '127.0.0.1', FICUS_DATA_DIR: dataDir, ...env })
  const listening = await spawned.logLine('workers listening', 60_000)
  return { url: String(listening.url), adminUrl: String(listening.adminUrl), pids: listening.pids as number[], dataDir, config: file }
}

/** `name{labels}` → value of the admin port's /metrics. */
async function scrape(adminUrl: string): Promise<Map<string, number>> {
  const values = new Map<string, number>()
  for (const line of (await send(`${adminUrl}/metrics`)).body.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (match) values.set(match[1] as string, Number(match[2]))
  }
  return values
}

/** Sends `count` requests, `concurrency` at a time, each on a connection of its own; returns the sides that answered. */
async function drive(url: string, tag: string, count: number, concurrency = 20): Promise<string[]> {
  const sides: string[] = []
  for (let start = 0; start < count; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, async (_, i) => {
      const n = start + i
      const response = await send(`${url}/policy/P-${n}/status`, { headers: { 'x-request-id': `${tag}-${n}` } })
      if (response.status !== 200) throw new Error(`request ${tag}-${n} answered ${response.status}`)
      sentCount += 1
      return String(response.headers['x-upstream'])
    })
    sides.push(...(await Promise.all(batch)))
  }
  return sides
}

async function flip(adminUrl: string, authority: string): Promise<void> {
  const response = await send(`${adminUrl}/admin/slices/policy-status/authority`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ authority, reason: 'workers test' }),
  })
  expect(response.status, response.body).toBe(200)
}

/** Sends batches until one is answered wholly by `side` (the flip reached every worker), within `withinMs`. */
async function untilAll(url: string, side: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs
  for (let round = 0; ; round++) {
    const sides = await drive(url, `wait-${side}-${round}`, 10, 10)
    if (sides.every((each) => each === side)) return
    if (Date.now() > deadline) throw new Error(`the flip to ${side} had not reached every worker after ${withinMs} ms: ${sides.join(',')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The records worker 1's readiness evidence holds for the slice, once it holds `expected` (or after 15 s). */
async function evidenceRecords(adminUrl: string, expected: number): Promise<number> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const records = (JSON.parse((await send(`${adminUrl}/admin/slices/policy-status/report`)).body) as { records: number }).records
    if (records >= expected || Date.now() > deadline) return records
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The differing comparisons the register holds (worker 1's admin API) and those in every worker's file, once they agree (or after 15 s). */
async function registerAgainstFiles(gateway: Workers, expectedLines = 400): Promise<{ registered: number; written: number }> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const listed = JSON.parse((await send(`${gateway.adminUrl}/admin/discrepancies?slice=policy-status&limit=100`)).body) as { entries: { count: number }[] }
    const registered = listed.entries.reduce((sum, entry) => sum + entry.count, 0)
    const { lines, written } = await differingWritten(gateway.dataDir)
    if ((registered === written && lines.length >= expectedLines) || Date.now() > deadline) return { registered, written }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Every worker's comparison lines, and how many of them differ (have a register signature). */
async function differingWritten(dataDir: string): Promise<{ lines: string[]; written: number }> {
  const { lines } = await comparisonLines(dataDir)
  return { lines, written: lines.filter((line) => signatureOf(JSON.parse(line) as Comparison) !== undefined).length }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function comparisonLines(dataDir: string): Promise<{ files: string[]; lines: string[] }> {
  const folder = join(dataDir, 'comparisons')
  const files = (await readdir(folder)).filter((name) => name.endsWith('.jsonl')).sort()
  const lines: string[] = []
  for (const name of files) lines.push(...(await readFile(join(folder, name), 'utf8')).split('\n').filter((line) => line !== ''))
  return { files, lines }
}

describe('ficus start --workers 2', () => {
  it('serves from two processes, flips every worker through the embedded store, writes one whole line per request per worker file, counts once in the report, and stops with 0', async () => {
    const gateway = await startWorkers()
    expect(gateway.pids).toHaveLength(2)
    expect(new Set(gateway.pids).size).toBe(2)

    const sent = await drive(gateway.url, 'load', 400)
    expect(sent.every((side) => side === 'legacy')).toBe(true)
    const metrics = await scrape(gateway.adminUrl)
    // The admin port answers for both workers: the request total is the sum over them.
    expect(metrics.get('ficus_requests_total{slice="policy-status",side="legacy",status_class="2xx"}')).toBe(400)
    const perWorker = [...metrics].filter(([name]) => name.startsWith('ficus_worker_requests_total{'))
    expect(perWorker).toHaveLength(2)
    expect(perWorker.map(([name]) => Number(/pid="(\d+)"/.exec(name)?.[1])).sort()).toEqual([...gateway.pids].sort())
    for (const [, value] of perWorker) expect(value).toBeGreaterThan(0)
    expect(perWorker.reduce((sum, [, value]) => sum + value, 0)).toBe(400)
    expect((await send(`${gateway.adminUrl}/readyz`)).status).toBe(200)
    // The readiness guard (worker 1's admin API) judges on every worker's comparisons, each once.
    expect(await evidenceRecords(gateway.adminUrl, 400)).toBe(400)
    // Worker 1 is the embedded register's one writer: the other worker's differing comparisons reach it.
    const { registered, written } = await registerAgainstFiles(gateway)
    expect(written).toBeGreaterThan(0)
    expect(registered).toBe(written)

    // A flip through worker 1's admin API reaches worker 2 (which only reads the embedded state).
    await flip(gateway.adminUrl, 'modern')
    await untilAll(gateway.url, 'modern', 3_000)
    const after = await drive(gateway.url, 'after', 100)
    expect(after.every((side) => side === 'modern')).toBe(true)

    const stopped = new Promise((resolve) => spawned!.child.once('exit', resolve))
    spawned!.child.kill('SIGTERM')
    const finished = await spawned!.finished
    await stopped
    expect(finished.code).toBe(0)
    for (const pid of gateway.pids) expect(alive(pid)).toBe(false)

    // Every request's comparison, once, on a whole line, in one worker's own file.
    const { files, lines } = await comparisonLines(gateway.dataDir)
    expect(files).toEqual(['comparisons-w2.jsonl', 'comparisons.jsonl'])
    const records = lines.map((line) => JSON.parse(line) as { eventId: string; requestId: string })
    expect(records).toHaveLength(sentCount)
    expect(new Set(records.map((record) => record.eventId)).size).toBe(records.length)
    expect(new Set(records.map((record) => record.requestId)).size).toBe(records.length)
    const ids = new Set(records.map((record) => record.requestId))
    for (let n = 0; n < 400; n++) expect(ids.has(`load-${n}`)).toBe(true)
    for (let n = 0; n < 100; n++) expect(ids.has(`after-${n}`)).toBe(true)
    const report = await runFicus(['report', '--config', gateway.config, '--data-dir', gateway.dataDir, '--format', 'json'])
    expect(report.code, report.stderr).toBe(0)
    expect(JSON.parse(report.stdout)).toMatchObject({ read: sentCount, duplicates: 0 })
  }, 120_000)

  it('flips every worker through Redis', async () => {
    prefix = uniquePrefix()
    const gateway = await startWorkers({ REDIS_URL, FICUS_REDIS_PREFIX: prefix })
    expect((await drive(gateway.url, 'before', 40)).every((side) => side === 'legacy')).toBe(true)
    await flip(gateway.adminUrl, 'modern')
    await untilAll(gateway.url, 'modern', 3_000)
    expect((await drive(gateway.url, 'after', 100)).every((side) => side === 'modern')).toBe(true)
    spawned!.child.kill('SIGTERM')
    expect((await spawned!.finished).code).toBe(0)
  }, 120_000)

  it('replaces a worker that was killed, and keeps serving', async () => {
    const gateway = await startWorkers()
    const victim = gateway.pids[1]!
    process.kill(victim, 'SIGKILL')
    const replaced = await spawned!.logLine('worker replaced: listening again', 30_000)
    expect(replaced.worker).toBe(2)
    expect(replaced.workerPid).not.toBe(victim)
    expect(spawned!.stdout()).toContain('worker exited unexpectedly; replacing it')
    expect((await drive(gateway.url, 'again', 100)).every((side) => side === 'legacy')).toBe(true)
    const pids = [...(await scrape(gateway.adminUrl)).keys()].filter((name) => name.startsWith('ficus_worker_requests_total{'))
    expect(pids.some((name) => name.includes(`pid="${String(replaced.workerPid)}"`))).toBe(true)
    spawned!.child.kill('SIGTERM')
    expect((await spawned!.finished).code).toBe(0)
  }, 120_000)

  it('keeps the differing comparisons the other workers send while worker 1 is down, and hands them to its replacement', async () => {
    // A fixed admin port: the replacement of worker 1 serves the admin API where the first did.
    const gateway = await startWorkers({ ADMIN_PORT: String(await closedPort()) })
    const first = gateway.pids[0]!
    process.kill(first, 'SIGKILL')
    // Worker 2 alone serves these: worker 1 is dead, then restarting, while they are judged and relayed.
    await drive(gateway.url, 'gap', 200)
    const replaced = await spawned!.logLine('worker replaced: listening again', 30_000)
    expect(replaced.worker).toBe(1)
    const { registered, written } = await registerAgainstFiles(gateway, 200)
    expect(written).toBeGreaterThan(0)
    expect(registered).toBe(written)
    spawned!.child.kill('SIGTERM')
    expect((await spawned!.finished).code).toBe(0)
  }, 120_000)

  it('stops the other workers before worker 1, so the differing comparisons they judge while draining still reach the register', async () => {
    const gateway = await startWorkers()
    // Stopped while comparisons of the last requests are still being judged and relayed.
    const last = drive(gateway.url, 'last', 300, 50)
    await new Promise((resolve) => setTimeout(resolve, 300))
    spawned!.child.kill('SIGTERM')
    await last.catch(() => undefined)
    expect((await spawned!.finished).code).toBe(0)
    const register = new FileDiscrepancyRegister({
      file: join(gateway.dataDir, DISCREPANCIES_FILE),
      logger: createLogger({ level: 'silent' }),
      readOnly: true,
    })
    await register.open()
    const registered = (await register.list({ slice: 'policy-status', limit: 100 })).reduce((sum, entry) => sum + entry.count, 0)
    const { written } = await differingWritten(gateway.dataDir)
    expect(written).toBeGreaterThan(0)
    expect(registered).toBe(written)
  }, 120_000)

  it('refuses a worker count that is not one, with the value named', async () => {
    const bad = await runFicus(['start', '--workers', 'lots'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--workers must be a whole number from 1 to 256, or "auto" (the available cores) (got "lots")')
    const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { workers: 0 } })
    const file = join(dir, 'routes.config.ts')
    await writeFile(file, `export default ${JSON.stringify(config)}\n`)
    const invalid = await runFicus(['validate', file])
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toContain('gateway.workers: must be a whole number from 1 to 256, or "auto" (the available cores) (got 0)')
  }, 60_000)
})
