import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/cli.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { RecompareReport } from '../../src/reconcile/recompare-render.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// The check, end to end with nothing faked: a gateway captures real pairs (encrypted in its
// data directory), and `ficus recompare --config <candidate> --dry-run` reads them back with the key
// and reports the untranslated code's comparisons moving from translation-defect to match.
const KEY = `k1:${randomBytes(32).toString('base64')}`
const OTHER_KEY = `k1:${randomBytes(32).toString('base64')}`
const LEGACY_CODES: Readonly<Record<string, string>> = { 'P-1': 'PNDC', 'P-2': 'PNDC', 'P-3': 'ACTV' }
const MODERN_STATUS: Readonly<Record<string, string>> = { PNDC: 'PENDING_CANCELLATION', ACTV: 'ACTIVE' }

function policyConfig(legacyUrl: string, modernUrl: string, values: Record<string, string>): GatewayConfigInput {
  return sampleConfig(legacyUrl, modernUrl, {
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' } }],
        shadow: { sample: 100 },
        capture: { percent: 100, retentionHours: 24 },
        translate: {
          version: `policy-status/${Object.keys(values).length}`,
          legacy: { rename: { '/pol_no': '/policyNumber', '/stat_cd': '/status' }, values: { '/status': values } },
        },
        compare: { clearUntranslated: ['/status'] },
      },
    },
  })
}

let legacy: TestUpstream
let modern: TestUpstream
let dataDir: string
let dir: string
let candidate: string
let deployed: string
const originals = new Map<string, Comparison>()

async function recompare(args: readonly string[], key: string | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString('utf8'))
        done()
      },
    })
  const env: NodeJS.ProcessEnv = { FICUS_DATA_DIR: dataDir, FICUS_CONFIG: deployed, ...(key === undefined ? {} : { FICUS_CAPTURE_KEYS: key }) }
  const code = await main(['recompare', ...args], {
    env,
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)) as unknown as NodeJS.WriteStream,
    cwd: dir,
  })
  return { code, stdout, stderr }
}

beforeAll(async () => {
  legacy = await startUpstream('legacy', (request, response) => {
    const id = /^\/policy\/([^/]+)\/status$/.exec(request.url ?? '')?.[1] ?? ''
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ pol_no: id, stat_cd: LEGACY_CODES[id], holder: 'Jane Distinctive-Name' }))
  })
  modern = await startUpstream('modern', (request, response) => {
    const id = /^\/policies\/([^/]+)$/.exec(request.url ?? '')?.[1] ?? ''
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ policyNumber: id, status: MODERN_STATUS[LEGACY_CODES[id] ?? ''], holder: 'Jane Distinctive-Name' }))
  })
  dir = await mkdtemp(join(tmpdir(), 'ficus-recompare-captured-'))
  dataDir = join(dir, 'data')
  deployed = join(dir, 'deployed.config.mjs')
  candidate = join(dir, 'candidate.config.mjs')
  await writeFile(deployed, `export default ${JSON.stringify(policyConfig(legacy.url, modern.url, { ACTV: 'ACTIVE' }))}\n`)
  await writeFile(candidate, `export default ${JSON.stringify(policyConfig(legacy.url, modern.url, { ACTV: 'ACTIVE', PNDC: 'PENDING_CANCELLATION' }))}\n`)
  const gateway = await startTestGateway(policyConfig(legacy.url, modern.url, { ACTV: 'ACTIVE' }), { dataDir, env: { FICUS_CAPTURE_KEYS: KEY } })
  for (const id of Object.keys(LEGACY_CODES)) {
    const requestId = `captured-${id}`
    const answered = await fetch(`${gateway.url}/policy/${id}/status`, { headers: { 'x-request-id': requestId } })
    await answered.arrayBuffer()
    originals.set(requestId, await comparisonOf(dataDir, requestId))
  }
  // Closing the gateway writes what its capture queue still holds.
  await gateway.stop({ keepData: true })
})

afterAll(async () => {
  await legacy?.close()
  await modern?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('ficus recompare over pairs a gateway captured', () => {
  it('keeps the captures unreadable at rest: no body text, no request id in the segment files', async () => {
    const folder = join(dataDir, 'captures', 'policy-status')
    const segments = await readdir(folder)
    expect(segments.length).toBeGreaterThan(0)
    const text = (await Promise.all(segments.map((segment) => readFile(join(folder, segment), 'utf8')))).join('')
    expect(text.split('\n').filter((line) => line !== '')).toHaveLength(3)
    for (const secret of ['Distinctive', 'PNDC', 'captured-P-1', 'P-1']) expect(text).not.toContain(secret)
  })

  it('moves the untranslated code from translation-defect to match under the candidate config, with the example request ids', async () => {
    expect(originals.get('captured-P-1')).toMatchObject({ family: 'translation-defect', category: 'untranslated' })
    const run = await recompare(['policy-status', '--since', '1h', '--config', candidate, '--dry-run', '--json'], KEY)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as RecompareReport
    expect(report.totals).toMatchObject({ read: 3, unreadable: 0, judged: 3, published: null })
    expect(report.rules.candidate).toBe(true)
    const move = report.moves.find((candidateMove) => candidateMove.from.startsWith('translation-defect/'))
    expect(move).toMatchObject({ to: 'match/match', count: 2 })
    expect([...(move?.examples ?? [])].sort()).toEqual(['captured-P-1', 'captured-P-2'])
    expect(report.families.find((family) => family.family === 'translation-defect')).toEqual({ family: 'translation-defect', before: 2, after: 0 })
    expect(report.signatures.find((signature) => signature.family === 'translation-defect')?.change).toBe('disappears')
  })

  it('reads nothing with the wrong key, and says so', async () => {
    const run = await recompare(['policy-status', '--since', '1h', '--config', candidate, '--dry-run'], OTHER_KEY)
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/FICUS_ERR_REPLAY_UNREADABLE/)
    expect(run.stdout + run.stderr).not.toContain('Distinctive')
  })

  it('refuses without a key', async () => {
    const run = await recompare(['policy-status', '--since', '1h', '--dry-run'], undefined)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/FICUS_ERR_CAPTURE_KEY_MISSING/)
  })
})
