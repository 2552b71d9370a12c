import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/reconcile/run-summary.ts'
import { FICUS_BIN, spawnNode } from '../helpers/processes.ts'
import { countingUpstream, ficus, keyList, reconcileConfig, workspace, type CountingUpstream, type Workspace } from '../helpers/reconcile.ts'
import { until } from '../helpers/wait.ts'

// A reconciliation over a key file of a few thousand entities holds its rate and its concurrency,
// survives a real SIGINT and a resume without asking a finished key again, and its run report adds up.

let legacy: CountingUpstream
let modern: CountingUpstream
let ws: Workspace

beforeAll(async () => {
  legacy = await countingUpstream('legacy', undefined, 3)
  modern = await countingUpstream('modern', undefined, 3)
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
})
afterEach(async () => {
  legacy.reset()
  modern.reset()
  await ws?.remove()
})

const summaryOf = (stdout: string): RunSummary => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as RunSummary

/** The most requests that arrived within any one second. */
function busiestSecond(arrivals: readonly number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b)
  let most = 0
  let start = 0
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= 1000) start += 1
    most = Math.max(most, end - start + 1)
  }
  return most
}

async function runReport(runId: string): Promise<{ records: number; families: Record<string, number> }> {
  const report = await ficus(['report', '--run', runId, '--format', 'json', '--config', ws.configFile], ws.env())
  expect(report.code, report.stderr).toBe(0)
  return (JSON.parse(report.stdout) as { slices: { records: number; families: Record<string, number> }[] }).slices[0] ?? { records: 0, families: {} }
}

describe('a reconciliation of 3000 keys', () => {
  it('holds 400 keys a second with 4 in flight, asks each key once per side, and its report adds up', async () => {
    ws = await workspace()
    await ws.writeConfig(reconcileConfig(legacy.url, modern.url))
    const keys = keyList(3000)
    const file = await ws.write('keys.txt', `${keys.join('\n')}\n`)
    const started = performance.now()
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '400', '--concurrency', '4', '--json', '--run-id', 'load-1'], ws.env())
    const tookMs = performance.now() - started
    expect(run.code, run.stderr).toBe(0)
    for (const key of keys) {
      if (legacy.perKey.get(key) !== 1 || modern.perKey.get(key) !== 1) expect.fail(`${key} asked ${legacy.perKey.get(key)} / ${modern.perKey.get(key)} times`)
    }
    expect(legacy.inFlight.max).toBeLessThanOrEqual(4)
    expect(modern.inFlight.max).toBeLessThanOrEqual(4)
    // At most one bucket (4 tokens) ahead of the rate: 3000 keys take at least (3000 - 4) / 400 s …
    expect(tookMs).toBeGreaterThanOrEqual(((3000 - 4) / 400) * 1000)
    const arrivals = legacy.arrivals
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(((3000 - 4 - 1) / 400) * 1000)
    // In any one second at the server: the rate and one bucket, with 2 % for the network's jitter
    // between a token and its request's arrival.
    expect(busiestSecond(arrivals)).toBeLessThanOrEqual(400 + 4 + 8)
    // … and the pace is held, not undershot by much.
    const summary = summaryOf(run.stdout)
    expect(summary.achievedRatePerSecond).toBeGreaterThan(300)
    expect(summary.keys).toEqual({ total: 3000, asked: 3000, remaining: 0 })
    expect(summary.outcomes).toEqual({ agree: 3000, disagree: 0, 'not-compared': 0 })
    // Plain progress lines without a terminal.
    expect(run.stderr).toMatch(/progress 3000\/3000 \(100%\)/)
    const report = await runReport('load-1')
    expect(report.records).toBe(3000)
    expect(report.families.match).toBe(3000)
  }, 30_000)

  it('stops on SIGINT with a checkpoint and resumes without asking a finished key again; the counts add up', async () => {
    ws = await workspace()
    await ws.writeConfig(reconcileConfig(legacy.url, modern.url))
    const keys = keyList(2000)
    const file = await ws.write('keys.txt', `${keys.join('\n')}\n`)
    const child = spawnNode(
      [FICUS_BIN, 'reconcile', 'policy-status', '--keys', file, '--rate', '500', '--concurrency', '4', '--run-id', 'sigint-1', '--json'],
      ws.env(),
    )
    await until(() => legacy.perKey.size >= 600, 'the run half-way', { timeoutMs: 15_000 })
    child.child.kill('SIGINT')
    const stopped = await child.finished
    expect(stopped.code, stopped.stderr).toBe(130)
    expect(stopped.stderr).toContain(`stopped; resume with: ficus reconcile policy-status --resume sigint-1 --keys ${file}`)
    const partial = summaryOf(stopped.stdout)
    expect(partial.status).toBe('stopped')
    // Keys in flight at the signal finished and were recorded: every key asked was recorded, no more.
    expect(legacy.perKey.size).toBe(partial.keys.asked)
    expect(modern.perKey.size).toBe(partial.keys.asked)
    expect(partial.keys.asked).toBeLessThan(2000)

    const resumed = await ficus(
      ['reconcile', 'policy-status', '--resume', 'sigint-1', '--keys', file, '--rate', '1000', '--concurrency', '4', '--json'],
      ws.env(),
    )
    expect(resumed.code, resumed.stderr).toBe(0)
    for (const key of keys) {
      if (legacy.perKey.get(key) !== 1 || modern.perKey.get(key) !== 1) expect.fail(`${key} asked ${legacy.perKey.get(key)} / ${modern.perKey.get(key)} times`)
    }
    const summary = summaryOf(resumed.stdout)
    expect(summary.keys).toEqual({ total: 2000, asked: 2000, remaining: 0 })
    expect(summary.outcomes.agree).toBe(2000)
    const report = await runReport('sigint-1')
    expect(report.records).toBe(summary.keys.asked)
    expect(report.families).toMatchObject(summary.families)
  }, 30_000)
})
