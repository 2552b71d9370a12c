import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CapturedPair } from '../../src/capture/captured-pair.ts'
import { main } from '../../src/cli/cli.ts'
import { recompareCommand, type RecompareCommandDeps } from '../../src/cli/recompare-command.ts'
import { ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { saltedBodyHash, type Comparison } from '../../src/compare/comparison.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { RecompareReport } from '../../src/reconcile/recompare-render.ts'
import { replayEventId } from '../../src/reconcile/replay-judge.ts'
import { capturedAnswer, capturedPair, pairsOf } from '../helpers/captured-pairs.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { schemaErrors } from '../helpers/json-schema.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// The example domain in small: legacy answers with overloaded status codes, one of which (PNDC,
// pending cancellation) the deployed translation does not map — a translation defect — and a
// candidate config whose translation maps it.
const SALT = 'recompare-test-salt-0123456789abcdef'
const LEGACY_CODES: Readonly<Record<string, string>> = { 'P-1': 'PNDC', 'P-2': 'PNDC', 'P-3': 'PNDC', 'P-4': 'ACTV' }
const MODERN_STATUS: Readonly<Record<string, string>> = { PNDC: 'PENDING_CANCELLATION', ACTV: 'ACTIVE' }
const DEPLOYED = { ACTV: 'ACTIVE' }
const FIXED = { ACTV: 'ACTIVE', PNDC: 'PENDING_CANCELLATION' }

function policyConfig(legacyUrl: string, modernUrl: string, values: Record<string, string>, path = '/policy/:id/status'): GatewayConfigInput {
  return sampleConfig(legacyUrl, modernUrl, {
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path, rewrite: { modern: '/policies/:id' } }],
        shadow: { sample: 100 },
        translate: {
          version: `policy-status/${Object.keys(values).length}`,
          legacy: { rename: { '/pol_no': '/policyNumber', '/stat_cd': '/status' }, values: { '/status': values } },
        },
        compare: { clearUntranslated: ['/status'] },
      },
    },
  })
}

function collector(): { stream: Writable; text: () => string } {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8')
      done()
    },
  })
  return { stream, text: () => text }
}

let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let dir: string
const files = { deployed: '', candidate: '', routeGone: '', broken: '' }
const pairs: CapturedPair[] = []

beforeAll(async () => {
  legacy = await startUpstream('legacy', (request, response) => {
    const id = /^\/policy\/([^/]+)\/status$/.exec(request.url ?? '')?.[1] ?? ''
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ pol_no: id, stat_cd: LEGACY_CODES[id] }))
  })
  modern = await startUpstream('modern', (request, response) => {
    const id = /^\/policies\/([^/]+)$/.exec(request.url ?? '')?.[1] ?? ''
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ policyNumber: id, status: MODERN_STATUS[LEGACY_CODES[id] ?? ''] }))
  })
  dir = await mkdtemp(join(tmpdir(), 'ficus-recompare-'))
  const write = async (name: string, input: unknown): Promise<string> => {
    const file = join(dir, name)
    await writeFile(file, `export default ${JSON.stringify(input, null, 2)}\n`)
    return file
  }
  files.deployed = await write('deployed.config.mjs', policyConfig(legacy.url, modern.url, DEPLOYED))
  files.candidate = await write('candidate.config.mjs', policyConfig(legacy.url, modern.url, FIXED))
  files.routeGone = await write('route-gone.config.mjs', policyConfig(legacy.url, modern.url, FIXED, '/policy/:id/state'))
  files.broken = await write('broken.config.mjs', { ...policyConfig(legacy.url, modern.url, FIXED), fallthrough: 'sideways' })
  // The originals: real comparisons of the deployed rules, made by a gateway on real traffic.
  gateway = await startTestGateway(policyConfig(legacy.url, modern.url, DEPLOYED), { env: { FICUS_HASH_SALT: SALT } })
  for (const id of Object.keys(LEGACY_CODES)) {
    const requestId = `req-${id}`
    const answered = await fetch(`${gateway.url}/policy/${id}/status`, { headers: { 'x-request-id': requestId } })
    await answered.arrayBuffer()
    const original = await comparisonOf(gateway.dataDir, requestId)
    // Both answers as a capture keeps them, from the same servers; the gateway saw the same bytes.
    const legacyAnswer = await capturedAnswer(`${legacy.url}/policy/${id}/status`)
    const modernAnswer = await capturedAnswer(`${modern.url}/policies/${id}`)
    expect(original.primary.bodyHash).toBe(saltedBodyHash(SALT, legacyAnswer.sha256))
    expect(original.shadow.bodyHash).toBe(saltedBodyHash(SALT, modernAnswer.sha256))
    pairs.push(capturedPair(original, legacyAnswer, modernAnswer))
  }
})

afterAll(async () => {
  await gateway?.stop()
  await legacy?.close()
  await modern?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly asked: { slice: string; since: Date; until: Date | undefined }[]
}

async function recompareWith(args: readonly string[], env: NodeJS.ProcessEnv, given: readonly CapturedPair[] = pairs, unreadable = 0): Promise<Run> {
  const stdout = collector()
  const stderr = collector()
  const asked: Run['asked'] = []
  const deps: RecompareCommandDeps = {
    openPairs: (_settings, _config, _env, _logger, slice, since, until) => {
      asked.push({ slice, since, until })
      return { pairs: pairsOf(given), unreadable: () => unreadable, close: () => Promise.resolve() }
    },
  }
  const code = await recompareCommand(
    args,
    { env: { FICUS_HASH_SALT: SALT, FICUS_INSTANCE_ID: 'recompare-test', ...env }, stdout: stdout.stream, stderr: stderr.stream, cwd: dir },
    deps,
  )
  return { code, stdout: stdout.text(), stderr: stderr.text(), asked }
}

async function replaysIn(dataDir: string): Promise<Comparison[]> {
  const text = await readFile(join(dataDir, 'comparisons', 'comparisons-replay.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Comparison)
}

describe('ficus recompare --config (a candidate config, dry run)', () => {
  it('reports the untranslated code moving from translation-defect to match, with example request ids, and its signature disappearing', async () => {
    expect(pairs.map((pair) => pair.comparison.family)).toEqual(['translation-defect', 'translation-defect', 'translation-defect', 'match'])
    const run = await recompareWith(['policy-status', '--since', '24h', '--config', files.candidate, '--json'], {
      FICUS_DATA_DIR: gateway.dataDir,
      FICUS_CONFIG: files.deployed,
    })
    expect(run.code).toBe(0)
    expect(run.asked).toHaveLength(1)
    expect(run.asked[0]?.slice).toBe('policy-status')
    expect(Date.now() - (run.asked[0]?.since.getTime() ?? 0)).toBeGreaterThanOrEqual(24 * 3_600_000)
    const report = JSON.parse(run.stdout) as RecompareReport
    expect(report.dryRun).toBe(true)
    expect(report.rules.candidate).toBe(true)
    expect(report.totals).toMatchObject({ read: 4, unreadable: 0, judged: 4, skipped: {}, sameRules: 0, published: null })
    expect(report.families).toEqual([
      { family: 'match', before: 1, after: 4 },
      { family: 'translation-defect', before: 3, after: 0 },
    ])
    expect(report.moves).toEqual([{ from: 'translation-defect/untranslated', to: 'match/match', count: 3, examples: ['req-P-1', 'req-P-2', 'req-P-3'] }])
    expect(report.signatures).toHaveLength(1)
    expect(report.signatures[0]).toMatchObject({
      family: 'translation-defect',
      route: 'GET /policy/:id/status',
      before: 3,
      after: 0,
      change: 'disappears',
      value: '"PNDC"',
    })
    // Nothing is published by a dry run.
    expect(await replaysIn(gateway.dataDir)).toEqual([])
  })

  it('prints the same for a terminal, with --examples bounding the ids', async () => {
    const run = await recompareWith(['policy-status', '--since', '24h', '--config', files.candidate, '--examples', '2'], { FICUS_DATA_DIR: gateway.dataDir })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('dry run: nothing published')
    expect(run.stdout).toMatch(/translation-defect\s+3\s+0/)
    expect(run.stdout).toMatch(/match\s+1\s+4/)
    expect(run.stdout).toMatch(/translation-defect\/untranslated\s+match\/match\s+3\s+req-P-1, req-P-2\n/)
    expect(run.stdout).toMatch(/disappears\s+[0-9a-f]{16}\s+translation-defect\s+GET \/policy\/:id\/status\s+3\s+0\s+\/body\/status = "PNDC"/)
  })

  it('refuses to publish a candidate config', async () => {
    const code = await main(['recompare', 'policy-status', '--since', '24h', '--config', files.candidate, '--no-dry-run'], {
      env: { FICUS_DATA_DIR: gateway.dataDir },
      stdout: collector().stream,
      stderr: Object.assign(collector().stream, { isTTY: false }) as unknown as NodeJS.WriteStream,
      cwd: dir,
    })
    expect(code).toBe(2)
  })

  it('counts the pairs of a route the candidate no longer has as skipped (route-gone)', async () => {
    const run = await recompareWith(['policy-status', '--since', '7d', '--config', files.routeGone, '--json'], { FICUS_DATA_DIR: gateway.dataDir })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as RecompareReport
    expect(report.totals).toMatchObject({ read: 4, judged: 0, skipped: { 'route-gone': 4 } })
    expect(report.moves).toEqual([])
  })

  it('reports a candidate config that does not validate as validate does, and a slice it lacks', async () => {
    const invalid = await recompareWith(['policy-status', '--since', '24h', '--config', files.broken], { FICUS_DATA_DIR: gateway.dataDir }).catch(
      (err: unknown) => err,
    )
    expect(invalid).toMatchObject({ code: 'FICUS_ERR_CONFIG_INVALID' })
    expect((invalid as Error).message).toContain('fallthrough')
    await expect(recompareWith(['claim-lodgement', '--since', '24h', '--config', files.candidate], { FICUS_DATA_DIR: gateway.dataDir })).rejects.toMatchObject({
      code: 'FICUS_ERR_UNKNOWN_SLICE',
    })
  })
})

describe('ficus recompare under the current config', () => {
  it('moves nothing when the rules are those of the originals, and publishes none of them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ficus-recompare-data-'))
    try {
      const run = await recompareWith(['policy-status', '--since', '24h', '--json'], { FICUS_DATA_DIR: dataDir, FICUS_CONFIG: files.deployed })
      expect(run.code).toBe(0)
      const report = JSON.parse(run.stdout) as RecompareReport
      expect(report.dryRun).toBe(false)
      expect(report.moves).toEqual([])
      expect(report.signatures).toEqual([])
      expect(report.totals).toMatchObject({ read: 4, judged: 4, sameRules: 4, published: 0 })
      expect(await replaysIn(dataDir)).toEqual([])
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('publishes replays under changed rules: origin replay, caused by the original, the same ids when run twice', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ficus-recompare-data-'))
    try {
      // The fix deployed: FICUS_CONFIG is now the config that maps PNDC.
      const first = await recompareWith(['policy-status', '--since', '24h'], { FICUS_DATA_DIR: dataDir, FICUS_CONFIG: files.candidate })
      expect(first.code).toBe(0)
      expect(first.stdout).toContain('published 4 replay comparison(s)')
      const replays = await replaysIn(dataDir)
      expect(replays).toHaveLength(4)
      for (const replay of replays) {
        const original = pairs.find((pair) => pair.comparison.requestId === replay.requestId)?.comparison as Comparison
        expect(schemaErrors(ComparisonSchema, replay)).toEqual([])
        expect(replay).toMatchObject({
          origin: 'replay',
          causationId: original.eventId,
          eventId: replayEventId(original.eventId, replay.rulesHash),
          requestTime: original.requestTime,
          traceparent: original.traceparent,
          authority: original.authority,
          flagVersion: original.flagVersion,
          authorityChangeId: original.authorityChangeId,
          method: original.method,
          primary: original.primary,
          shadow: original.shadow,
          instance: 'recompare-test',
          family: 'match',
        })
        expect(replay.rulesHash).not.toBe(original.rulesHash)
        expect(replay.translationVersion).toBe('policy-status/2')
      }
      const second = await recompareWith(['policy-status', '--since', '24h'], { FICUS_DATA_DIR: dataDir, FICUS_CONFIG: files.candidate })
      expect(second.code).toBe(0)
      const both = await replaysIn(dataDir)
      expect(both).toHaveLength(8)
      expect(new Set(both.map((replay) => replay.eventId))).toEqual(new Set(replays.map((replay) => replay.eventId)))
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

describe('ficus recompare: windows and stores', () => {
  it.each([['yesterday'], ['24'], ['0h'], ['2026-11-23T10:00:00'], ['-3d'], ['2999-01-01T00:00:00Z']])('refuses --since %s as a usage error', async (since) => {
    const stderr = collector()
    const code = await main(['recompare', 'policy-status', '--since', since], {
      env: {},
      stdout: collector().stream,
      stderr: Object.assign(stderr.stream, { isTTY: false }) as unknown as NodeJS.WriteStream,
      cwd: dir,
    })
    expect(code).toBe(2)
    expect(stderr.text()).toContain('FICUS_ERR_CLI_USAGE')
  })

  it('takes an ISO time and an --until after it', async () => {
    const run = await recompareWith(['policy-status', '--since', '2020-01-01T00:00:00Z', '--until', '2020-01-02', '--config', files.candidate, '--json'], {
      FICUS_DATA_DIR: gateway.dataDir,
    })
    expect(run.asked[0]).toEqual({ slice: 'policy-status', since: new Date('2020-01-01T00:00:00Z'), until: new Date('2020-01-02T00:00:00Z') })
    await expect(recompareWith(['policy-status', '--since', '2d', '--until', '3d'], {})).rejects.toMatchObject({ code: 'FICUS_ERR_CLI_USAGE' })
  })

  it('says so when there are no captured pairs in the window, and exits 0', async () => {
    const run = await recompareWith(['policy-status', '--since', '30m', '--config', files.candidate], { FICUS_DATA_DIR: gateway.dataDir }, [])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^no captured pairs for policy-status since \d{4}-\d{2}-\d{2}T/)
  })

  it('fails when captures exist but none could be read, and counts those left out otherwise', async () => {
    await expect(
      recompareWith(['policy-status', '--since', '24h', '--config', files.candidate], { FICUS_DATA_DIR: gateway.dataDir }, [], 2),
    ).rejects.toMatchObject({
      code: 'FICUS_ERR_REPLAY_UNREADABLE',
    })
    const some = await recompareWith(['policy-status', '--since', '24h', '--config', files.candidate, '--json'], { FICUS_DATA_DIR: gateway.dataDir }, pairs, 2)
    expect(some.code).toBe(0)
    expect((JSON.parse(some.stdout) as { totals: { unreadable: number } }).totals.unreadable).toBe(2)
    expect(some.stderr).toContain('2 captured pair(s) could not be read')
  })
})
