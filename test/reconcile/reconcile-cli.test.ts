import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { readSettings } from '../../src/app/settings.ts'
import { startReconcile } from '../../src/app/start-reconcile.ts'
import { chooseSide } from '../../src/authority/sticky-bucket.ts'
import { loadConfig } from '../../src/config/load.ts'
import { createLogger } from '../../src/observability/logger.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { reconcileEventId } from '../../src/reconcile/reconcile-ask.ts'
import type { RunSummary } from '../../src/reconcile/run-summary.ts'
import { readComparisons } from '../helpers/comparisons.ts'
import { countingUpstream, ficus, keyList, reconcileConfig, workspace, type Answer, type CountingUpstream, type Workspace } from '../helpers/reconcile.ts'

// `ficus reconcile` in this process against real upstreams on ephemeral ports: what it asks, what
// it records, what it refuses, how it stops and resumes. The load (thousands of keys at a held
// rate) and a real SIGINT are in reconcile-load.test.ts.

let legacy: CountingUpstream
let modern: CountingUpstream
let ws: Workspace
let legacyAnswer: Answer | undefined
let modernAnswer: Answer | undefined

beforeAll(async () => {
  legacy = await countingUpstream('legacy', (key, request) => legacyAnswer?.(key, request))
  modern = await countingUpstream('modern', (key, request) => modernAnswer?.(key, request))
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
})
afterEach(async () => {
  legacyAnswer = undefined
  modernAnswer = undefined
  legacy.reset()
  modern.reset()
  await ws?.remove()
})

async function setUp(slice: Record<string, unknown> = {}, extra = {}): Promise<Workspace> {
  ws = await workspace()
  await ws.writeConfig(reconcileConfig(legacy.url, modern.url, slice, extra))
  return ws
}

const summaryOf = (stdout: string): RunSummary => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as RunSummary

async function reportOf(runId: string): Promise<{ records: number; families: Record<string, number>; origins: Record<string, number> }> {
  const report = await ficus(['report', '--run', runId, '--format', 'json', '--config', ws.configFile], ws.env())
  expect(report.code, report.stderr).toBe(0)
  const parsed = JSON.parse(report.stdout) as { slices: { records: number; families: Record<string, number>; origins: Record<string, number> }[] }
  const [slice] = parsed.slices
  return slice ?? { records: 0, families: {}, origins: {} }
}

describe('ficus reconcile', () => {
  it('asks each key once per side, publishes comparisons that say what caused them, and its report adds up', async () => {
    await setUp()
    const keys = keyList(40)
    const file = await ws.write('keys.txt', `# policies to check\n\n${keys.join('\n')}\n${keys[0]}\n`)
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500', '--concurrency', '3', '--json', '--run-id', 'nightly-1'], ws.env())
    expect(run.code, run.stderr).toBe(0)
    const summary = summaryOf(run.stdout)
    expect(summary).toMatchObject({ runId: 'nightly-1', slice: 'policy-status', route: 'GET /policy/:id/status', status: 'finished', passed: true })
    expect(summary.keys).toEqual({ total: 40, asked: 40, remaining: 0 })
    expect(summary.outcomes).toEqual({ agree: 40, disagree: 0, 'not-compared': 0 })
    expect(run.stderr).toContain('1 duplicate')
    for (const key of keys) {
      expect(legacy.perKey.get(key), key).toBe(1)
      expect(modern.perKey.get(key), key).toBe(1)
    }
    const { records } = await readComparisons(ws.dataDir, 'comparisons-reconcile.jsonl')
    expect(records).toHaveLength(40)
    const byKey = new Map(records.map((record) => [record.entityKey, record]))
    keys.forEach((key, index) => {
      const record = byKey.get(key) as Comparison
      expect(record).toMatchObject({ origin: 'reconcile', causationId: 'nightly-1', requestId: `nightly-1-${index + 1}`, family: 'match', authority: 'legacy' })
      expect(record.eventId).toBe(reconcileEventId('nightly-1', key))
    })
    // The request id each side was sent is the comparison's.
    expect(new Set(legacy.requestIds)).toEqual(new Set(records.map((record) => record.requestId)))
    expect(new Set(modern.requestIds)).toEqual(new Set(records.map((record) => record.requestId)))
    expect(legacy.requests.every((request) => request.headers['x-ficus-traffic'] === 'shadow')).toBe(true)

    const report = await reportOf('nightly-1')
    expect(report.records).toBe(summary.keys.asked)
    expect(report.families.match).toBe(40)
    expect(report.origins).toEqual({ live: 0, reconcile: 40, replay: 0 })
    const runs = (await readFile(join(ws.dataDir, 'reconcile', 'runs.jsonl'), 'utf8')).trim().split('\n')
    expect(JSON.parse(runs[0] ?? '{}')).toMatchObject({ runId: 'nightly-1', keys: { asked: 40 } })
  })

  it('gives the same key the same event id within a run, and another in another run', () => {
    const id = reconcileEventId('run-a', 'P-1')
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(reconcileEventId('run-a', 'P-1')).toBe(id)
    expect(reconcileEventId('run-b', 'P-1')).not.toBe(id)
    expect(reconcileEventId('run-a', 'P-2')).not.toBe(id)
  })

  it('exits 1 naming the threshold a run broke, with the disagreements by category', async () => {
    await setUp({ reconcile: { thresholds: { minAgreement: 95 } } })
    modernAnswer = (key) => (key.endsWith('7') ? { status: 200, body: { id: key, status: 'lapsed' } } : undefined)
    const file = await ws.write('keys.txt', keyList(30).join('\n'))
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500'], ws.env())
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/broke its thresholds: agreement 90\.00% is below 95%/)
    expect(run.stdout).toContain('agreement    90.00% of 30 compared; minimum 95%: BROKEN')
    expect(run.stdout).toContain('body-mismatch 3')
    // The flag overrides the config.
    const lenient = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500', '--min-agreement', '90', '--json'], ws.env())
    expect(lenient.code, lenient.stderr).toBe(0)
    expect(summaryOf(lenient.stdout).disagreements).toEqual({ 'body-mismatch': 3 })
  })

  it('reads keys from standard input and from a JSON-lines export', async () => {
    await setUp()
    const fromStdin = await ficus(['reconcile', 'policy-status', '--keys', '-', '--rate', '500', '--json'], ws.env(), { stdin: 'A-1\nA-2\n# no\nA-3\n' })
    expect(fromStdin.code, fromStdin.stderr).toBe(0)
    expect(summaryOf(fromStdin.stdout).keys.asked).toBe(3)
    const file = await ws.write('export.jsonl', '{"policyNo":"J-1","x":1}\n\n{"policyNo":42}\n{"policyNo":"J-1"}\n')
    const fromJson = await ficus(['reconcile', 'policy-status', '--keys', file, '--key-field', 'policyNo', '--rate', '500', '--json'], ws.env())
    expect(fromJson.code, fromJson.stderr).toBe(0)
    expect(summaryOf(fromJson.stdout).keys).toEqual({ total: 2, asked: 2, remaining: 0 })
    expect([...legacy.perKey.keys()].sort()).toEqual(['42', 'A-1', 'A-2', 'A-3', 'J-1'])
  })

  it.each([
    ['a key with "/"', 'P-1\nP-2/..\n', [], 'line 2: the key "P-2/.." has a "/"'],
    ['a key with a control character', 'P-1\nP-2\nP\u00073\n', [], 'line 3: the key has a control character'],
    ['a line that is not JSON', '{"id":"P-1"}\n{"id": oops\n', ['--key-field', 'id'], 'line 2: not JSON'],
    ['a JSON line without the field', '{"id":"P-1"}\n{"other":"P-2"}\n', ['--key-field', 'id'], 'line 2: no key (no "id" field)'],
  ])('refuses %s before asking anything, naming the line', async (_what, text, flags, message) => {
    await setUp()
    const file = await ws.write('keys.txt', text)
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, ...flags], ws.env())
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('FICUS_ERR_RECONCILE_KEYS')
    expect(run.stderr).toContain(message)
    expect(legacy.requests).toHaveLength(0)
    expect(modern.requests).toHaveLength(0)
  })

  it('records a key the identity map does not know as not-compared (missing-identity), never a conflict', async () => {
    ws = await workspace()
    const map = await ws.write('ids.csv', 'legacy,modern\nP-1,n-1\nP-2,n-2\n')
    await ws.writeConfig(
      reconcileConfig(
        legacy.url,
        modern.url,
        { routes: [{ method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' }, ids: [{ param: 'id', map: 'policy-ids' }] }] },
        { identityMaps: { 'policy-ids': { file: map } } },
      ),
    )
    modernAnswer = (key) => ({ status: 200, body: { id: key.replace('n-', 'P-'), status: 'active' } })
    const file = await ws.write('keys.txt', 'P-1\nP-2\nP-3\n')
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500', '--json', '--run-id', 'ids-1'], ws.env())
    const summary = summaryOf(run.stdout)
    expect(summary.families).toEqual({ match: 2, 'not-compared': 1 })
    expect(summary.causes['not-compared']).toEqual({ 'missing-identity': 1 })
    expect([...modern.perKey.keys()].sort()).toEqual(['n-1', 'n-2'])
    const { records } = await readComparisons(ws.dataDir, 'comparisons-reconcile.jsonl')
    expect(records.find((record) => record.entityKey === 'P-3')).toMatchObject({ family: 'not-compared', cause: 'missing-identity', origin: 'reconcile' })
  })

  it('pauses while a breaker is open or legacy answers 429, and asks again instead of recording skips', async () => {
    await setUp(
      {},
      {
        upstreams: {
          legacy: { url: legacy.url },
          modern: { url: modern.url, breaker: { shadow: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 200 } } },
        },
      },
    )
    let modernFailures = 4
    modernAnswer = () => (modernFailures-- > 0 ? { status: 500, body: { error: 'down' } } : undefined)
    let legacyRefusals = 2
    legacyAnswer = (key) => (key === 'P-00020' && legacyRefusals-- > 0 ? { status: 429, body: { error: 'slow down' } } : undefined)
    const file = await ws.write('keys.txt', keyList(20).join('\n'))
    const run = await ficus(
      ['reconcile', 'policy-status', '--keys', file, '--rate', '200', '--concurrency', '1', '--json', '--max-error-percent', '100', '--min-agreement', '0'],
      ws.env(),
    )
    expect(run.code, run.stderr).toBe(0)
    const summary = summaryOf(run.stdout)
    expect(summary.pauses).toBeGreaterThanOrEqual(3)
    expect(summary.families['shadow-skipped']).toBeUndefined()
    expect(summary.keys.asked).toBe(20)
    // The 500s the breaker counted before it opened are errors the modern side gave; nothing was skipped.
    expect(summary.families['shadow-error'] ?? 0).toBeLessThanOrEqual(4)
    expect(summary.families.match).toBe(20 - (summary.families['shadow-error'] ?? 0))
    expect(legacy.perKey.get('P-00020')).toBe(3)
  })

  it('stops when told, keeps a checkpoint, resumes without asking a finished key again, and refuses to resume a finished run', async () => {
    await setUp()
    const keys = keyList(200)
    const file = await ws.write('keys.txt', keys.join('\n'))
    const controller = new AbortController()
    legacyAnswer = () => {
      if ((legacy.requestIds.length ?? 0) >= 80) controller.abort()
      return undefined
    }
    const first = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '400', '--concurrency', '3', '--run-id', 'stop-1', '--json'], ws.env(), {
      signal: controller.signal,
    })
    expect(first.code, first.stderr).toBe(130)
    expect(first.stderr).toContain(`stopped; resume with: ficus reconcile policy-status --resume stop-1 --keys ${file}`)
    const partial = summaryOf(first.stdout)
    expect(partial.status).toBe('stopped')
    expect(partial.keys.asked).toBeGreaterThanOrEqual(80)
    expect(partial.keys.asked).toBeLessThan(200)
    const checkpoint = JSON.parse(await readFile(join(ws.dataDir, 'reconcile', 'stop-1.json'), 'utf8')) as { finishedAt: null; counts: { asked: number } }
    expect(checkpoint.finishedAt).toBeNull()
    expect(checkpoint.counts.asked).toBe(partial.keys.asked)
    const askedFirst = legacy.perKey.size

    // Another file under the same name is refused.
    await writeFile(file, [...keys, 'P-extra'].join('\n'))
    const changed = await ficus(['reconcile', 'policy-status', '--resume', 'stop-1', '--keys', file], ws.env())
    expect(changed.code).toBe(1)
    expect(changed.stderr).toContain('FICUS_ERR_RECONCILE_RESUME')
    await writeFile(file, keys.join('\n'))

    legacyAnswer = undefined
    const second = await ficus(['reconcile', 'policy-status', '--resume', 'stop-1', '--keys', file, '--rate', '400', '--json'], ws.env())
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toContain(`${200 - partial.keys.asked} of 200 keys to ask`)
    const summary = summaryOf(second.stdout)
    expect(summary.keys).toEqual({ total: 200, asked: 200, remaining: 0 })
    expect(summary.outcomes.agree).toBe(200)
    expect(askedFirst).toBe(partial.keys.asked)
    for (const key of keys) {
      expect(legacy.perKey.get(key), key).toBe(1)
      expect(modern.perKey.get(key), key).toBe(1)
    }
    const report = await reportOf('stop-1')
    expect(report.records).toBe(200)
    expect(report.families.match).toBe(summary.families.match)

    const again = await ficus(['reconcile', 'policy-status', '--resume', 'stop-1', '--keys', file], ws.env())
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/FICUS_ERR_RECONCILE_RESUME: run stop-1 finished at .*; nothing is left to ask/)
  })

  it('routes each key by the stored authority, a percentage by the key’s sticky bucket, and records the change in force', async () => {
    await setUp()
    await mkdir(ws.dataDir, { recursive: true })
    const state = { authority: '50%', version: 3, updatedAt: new Date().toISOString(), actor: 'a', reason: 'r', instance: 'i', changeId: 'change-3' }
    await writeFile(join(ws.dataDir, 'authority.json'), JSON.stringify({ format: 1, slices: { 'policy-status': state } }))
    const keys = keyList(30)
    const file = await ws.write('keys.txt', keys.join('\n'))
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500'], ws.env())
    expect(run.code, run.stderr).toBe(0)
    const { records } = await readComparisons(ws.dataDir, 'comparisons-reconcile.jsonl')
    for (const record of records) {
      expect(record).toMatchObject({ authority: '50%', flagVersion: 3, authorityChangeId: 'change-3' })
      expect(record.primary.side).toBe(chooseSide('policy-status', '50%', () => record.entityKey ?? ''))
    }
    expect(new Set(records.map((record) => record.primary.side))).toEqual(new Set(['legacy', 'modern']))
  })

  it('refuses a route that is not one of the slice’s reads, as a usage of the config or the flag', async () => {
    await setUp()
    const file = await ws.write('keys.txt', 'P-1\n')
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--route', 'GET /nope/:id'], ws.env())
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('FICUS_ERR_RECONCILE_ROUTE')
    await ws.writeConfig(reconcileConfig(legacy.url, modern.url, { reconcile: { route: 'POST /policy/:id/status' } }))
    const invalid = await ficus(['reconcile', 'policy-status', '--keys', file], ws.env())
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toContain("slices.policy-status.reconcile.route: must be one of the slice's GET or HEAD routes")
    await ws.writeConfig(reconcileConfig(legacy.url, modern.url, { reconcile: { ratePerSecond: 0 } }))
    const zero = await ficus(['reconcile', 'policy-status', '--keys', file], ws.env())
    expect(zero.stderr).toContain('slices.policy-status.reconcile.ratePerSecond')
    const usage = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '0'], ws.env())
    expect(usage.code).toBe(2)
  })
})

describe('a key whose legacy side keeps answering 503', () => {
  it('is asked a bounded number of times, then recorded as live traffic would record it', async () => {
    await setUp()
    legacyAnswer = () => ({ status: 503, body: { error: 'busy' } })
    const settings = readSettings(ws.env(), { isTTY: false })
    const config = await loadConfig(ws.configFile)
    const file = await ws.write('keys.txt', 'P-1\nP-2\n')
    const { summary, stopped } = await startReconcile(settings, config, {
      slice: 'policy-status',
      keys: { path: file, cwd: ws.dir, stdin: process.stdin },
      runId: 'busy-1',
      signal: new AbortController().signal,
      retry: { maxTries: 3, pause: { baseMs: 20, maxMs: 50 } },
      logger: createLogger({ level: 'silent' }),
    })
    expect(stopped).toBe(false)
    expect(legacy.perKey.get('P-1')).toBe(3)
    expect(legacy.perKey.get('P-2')).toBe(3)
    expect(summary.pauses).toBe(4)
    expect(summary.families).toEqual({ 'primary-error': 2 })
    expect(summary.causes['primary-error']).toEqual({ '5xx': 2 })
    expect(summary.passed).toBe(false)
  })
})

describe('a legacy side that never answers again', () => {
  it('makes the run give up after keys in a row spent their tries — stopped, resumable, exit 1 — instead of crawling through every key', async () => {
    await setUp()
    legacyAnswer = () => ({ status: 503, body: { error: 'down' } })
    const settings = readSettings(ws.env(), { isTTY: false })
    const config = await loadConfig(ws.configFile)
    const file = await ws.write('keys.txt', keyList(40).join('\n'))
    const retry = { maxTries: 2, pause: { baseMs: 5, maxMs: 10 }, giveUpAfter: 3 }
    const options = { slice: 'policy-status', keys: { path: file, cwd: ws.dir, stdin: process.stdin }, retry, logger: createLogger({ level: 'silent' }) }
    const first = await startReconcile(settings, config, { ...options, runId: 'down-1', concurrency: 1, signal: new AbortController().signal })
    expect(first.stopped).toBe(true)
    expect(first.gaveUp).toMatch(/^3 keys in a row spent their 2 tries \(legacy answered 503\)$/)
    // Two keys recorded as live traffic would record them; the third, which gave up, is left for a resume; no other key asked.
    expect(first.summary.families).toEqual({ 'primary-error': 2 })
    expect(legacy.perKey.size).toBe(3)
    // Legacy is back: the resume asks the key that gave up and every key after it.
    legacyAnswer = undefined
    legacy.reset()
    const resumed = await startReconcile(settings, config, { ...options, resume: 'down-1', signal: new AbortController().signal })
    expect(resumed.stopped).toBe(false)
    expect(resumed.gaveUp).toBeUndefined()
    expect(legacy.perKey.size).toBe(38)
    expect(resumed.summary.keys.asked).toBe(40)
  }, 60_000)
})

describe('ficus reconcile beside a running gateway', () => {
  it('writes comparisons to a file of its own, never the gateway’s comparisons.jsonl, and the report reads both', async () => {
    await setUp()
    const keysFile = await ws.write('keys.txt', keyList(5).join('\n'))
    const run = await ficus(['reconcile', 'policy-status', '--keys', keysFile, '--rate', '200', '--json'], ws.env())
    expect(run.code, run.stderr).toBe(0)
    const folder = join(ws.dataDir, 'comparisons')
    await expect(readFile(join(folder, 'comparisons.jsonl'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    const own = (await readFile(join(folder, 'comparisons-reconcile.jsonl'), 'utf8')).split('\n').filter((line) => line !== '')
    expect(own).toHaveLength(5)
    expect((await reportOf(summaryOf(run.stdout).runId)).records).toBe(5)
  })

  it('runs one at a time per data directory: a live run’s lock refuses a second, a dead one’s is taken over', async () => {
    await setUp()
    const keysFile = await ws.write('keys.txt', keyList(3).join('\n'))
    await mkdir(join(ws.dataDir, 'reconcile'), { recursive: true })
    const lock = join(ws.dataDir, 'reconcile', 'run.lock')
    // The parent of this test process is alive and is not this process: another run in progress.
    await writeFile(lock, JSON.stringify({ pid: process.ppid, runId: 'rec-other' }))
    const refused = await ficus(['reconcile', 'policy-status', '--keys', keysFile], ws.env())
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/FICUS_ERR_RECONCILE_BUSY: run rec-other \(process \d+\) is reconciling in this data directory/)
    expect(legacy.perKey.size).toBe(0)
    // A process id no process has (beyond the kernel's pid range): the run that held it was killed.
    await writeFile(lock, JSON.stringify({ pid: 4_194_305, runId: 'rec-killed' }))
    const taken = await ficus(['reconcile', 'policy-status', '--keys', keysFile], ws.env())
    expect(taken.code, taken.stderr).toBe(0)
    expect(legacy.perKey.size).toBe(3)
    await expect(readFile(lock, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
