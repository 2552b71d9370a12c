// `npm run demo`: the example services, the gateway in front of them on embedded defaults (no Redis,
// no Kafka), a little sample traffic and a table of what went where, the example customers' round
// and the shadow-run report. `--once` exits after that; otherwise the gateway keeps running until
// Ctrl-C. Every run starts from a clean state in its own data folder (FICUS_DEMO_DIR, default
// data/demo), so following the README in order never breaks the next demo.
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { FicusError } from '../src/errors/errors.ts'
import type { Comparison } from '../src/compare/comparison.ts'
import { startGateway } from '../src/app/start-gateway.ts'
import { COMPARISONS_DIR } from '../src/app/data-dir.ts'
import { readSettings } from '../src/app/settings.ts'
import { CURRENT_FILE } from '../src/publish/jsonl-sink.ts'
import { readComparisonsFromJsonl } from '../src/report/sources/jsonl-source.ts'
import { readTriage } from '../src/report/sources/triage-source.ts'
import { renderText } from '../src/report/render-text.ts'
import { buildReport, ComparisonAggregator } from '../src/report/report.ts'
import { textTable } from '../src/text/text-table.ts'
import { CUSTOMER_COUNT, CUSTOMER_HEADER, customerRound, describeRound, FIRST_CUSTOMER } from './example-clients.ts'
import { triageDemoDifferences } from './demo-triage.ts'
import { demoCaptureKey, reconcileExamplePolicies, recompareCandidate } from './demo-reconcile.ts'
import { createLogger } from '../src/observability/logger.ts'
import { startExampleServices } from './example-services.ts'

interface Sample {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: unknown
  readonly note: string
}

/** Time the comparisons of the sample traffic get before the table is printed (re-asks wait 150 ms). */
const COMPARISON_WAIT_MS = 800

const SAMPLES: readonly Sample[] = [
  { method: 'GET', path: '/pas/v1/policy/P-1001/status', note: 'ACTV on legacy, ACTIVE in the Policy context' },
  { method: 'GET', path: '/pas/v1/policy/P-1004/status', note: 'PNDC: a legacy code with no translation yet' },
  { method: 'GET', path: '/pas/v1/policy/P-1005/status', note: 'reinstated yesterday: the modern read model lags' },
  { method: 'GET', path: '/pas/v1/policy/P-1007/status', note: 'legacy holds a negative premium: its data is wrong' },
  { method: 'GET', path: '/pas/v1/policy/P-1008/status', note: '4000 endorsements: too large to compare' },
  { method: 'GET', path: '/pas/v1/policy/P-9999/status', note: 'unknown policy' },
  { method: 'GET', path: '/pas/v1/billing/P-1001/eligibility', note: 'billing already moved to the Billing context' },
  { method: 'GET', path: '/pas/v1/billing/P-1006/eligibility', note: 'small arrears: the sides disagree (conflict)' },
  { method: 'GET', path: '/pas/v1/policy/P-1003/claims/lodgement-check?loss_date=2024-05-01', note: 'lapsed policy' },
  { method: 'GET', path: '/pas/v1/claims/C-4002', note: 'the Claims context knows this claim by its own id' },
  { method: 'GET', path: '/pas/v1/claims/C-4004', note: 'lodged after the id map was exported: no new id' },
  { method: 'POST', path: '/pas/v1/claims', body: { pol_no: 'P-1001', loss_dt: '2026-11-20' }, note: 'lodging a claim' },
  { method: 'GET', path: '/pas/v1/agents/A-77', note: 'no slice claims agents: falls through to legacy' },
]

/** Marks a folder as the demo's own, so a later run may clear it. */
const DEMO_MARKER = '.ficus-demo'

interface Outcome {
  readonly requestId: string
  readonly sample: Sample
  readonly status: number
  readonly slice: string
  readonly authority: string
  readonly servedBy: string
}

async function send(client: Agent, base: string, sample: Sample, requestId: string): Promise<Outcome> {
  const response = await request(base + sample.path, {
    dispatcher: client,
    method: sample.method,
    // The sample requests come from the first example customer's portal.
    headers: { 'x-request-id': requestId, [CUSTOMER_HEADER]: FIRST_CUSTOMER, ...(sample.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(sample.body === undefined ? {} : { body: JSON.stringify(sample.body) }),
  })
  await response.body.dump()
  const header = (name: string): string | undefined => {
    const value = response.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  return {
    requestId,
    sample,
    status: response.statusCode,
    slice: header('x-ficus-slice') ?? '(fallthrough)',
    authority: header('x-ficus-authority') ?? '?',
    servedBy: header('x-served-by') ?? '?',
  }
}

function table(outcomes: readonly Outcome[], verdicts: ReadonlyMap<string, string>): string {
  return textTable(
    ['REQUEST', 'SLICE', 'SIDE', 'ANSWERED BY', 'STATUS', 'PARALLEL RUN', 'WHY IT IS HERE'],
    outcomes.map((o) => [
      `${o.sample.method} ${o.sample.path}`,
      o.slice,
      o.authority,
      o.servedBy,
      String(o.status),
      verdicts.get(o.requestId) ?? '-',
      o.sample.note,
    ]),
  )
}

/** The family of each demo request's comparison, with what it rests on, read back from the JSONL sink. */
async function verdicts(dataDir: string, requestIds: ReadonlySet<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  let text: string
  try {
    text = await readFile(join(dataDir, COMPARISONS_DIR, CURRENT_FILE), 'utf8')
  } catch {
    return found
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    const record = JSON.parse(line) as Comparison
    if (!requestIds.has(record.requestId)) continue
    const untranslated = record.untranslated[0]?.value
    const detail =
      record.family === 'timing-lag' && record.lagMs !== null
        ? `converged after ${Math.round(record.lagMs)} ms`
        : record.family === 'noise'
          ? (record.noisePaths[0] ?? null)
          : typeof untranslated === 'string'
            ? untranslated
            : record.family === 'source-data-defect' || record.family === 'not-compared'
              ? record.cause
              : (record.diff[0]?.path ?? record.cause)
    found.set(record.requestId, detail === null ? record.family : `${record.family} (${detail})`)
  }
  return found
}

/**
 * Empties the demo's data folder, or creates it. A folder that is not empty and was not made by
 * the demo is left alone: FICUS_DEMO_DIR might point at data that matters.
 */
async function cleanDemoDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((err: unknown): string[] => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  })
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new FicusError('FICUS_ERR_ENV_INVALID', `${dir} holds files the demo did not write; point FICUS_DEMO_DIR at an empty or new folder`)
  }
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, DEMO_MARKER), 'Written by `npm run demo`, which clears this folder at every start.\n')
}

async function run(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } }, allowPositionals: false })
  const demoDir = resolve(process.env.FICUS_DEMO_DIR ?? join('data', 'demo'))
  const shownDir = relative(process.cwd(), demoDir).startsWith('..') ? demoDir : relative(process.cwd(), demoDir)
  process.stdout.write(
    `Ficus demo: the example insurer's services and a gateway on embedded defaults (no Redis, no Kafka).\nState: ${shownDir} (cleared at every start).\n`,
  )
  await cleanDemoDir(demoDir)
  const examples = await startExampleServices({ ephemeral: true })
  // Embedded defaults, whatever the shell says: the demo's own folder, no Redis, no Kafka; warnings
  // (such as the admin API having no token, which is how a demo runs) stay out of its output.
  const { REDIS_URL: _redis, KAFKA_BROKERS: _kafka, FICUS_ADMIN_TOKEN: _token, ...inherited } = process.env
  // Captured pairs are encrypted under a key made for this run (unless the shell gives one): the
  // example config captures coverage-status only when there is a key.
  const captureKeys = { FICUS_CAPTURE_KEYS: process.env.FICUS_CAPTURE_KEYS ?? demoCaptureKey() }
  const env = { ...inherited, ...examples.env, ...captureKeys, FICUS_DATA_DIR: demoDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' }
  // routes.config.ts reads the example services' addresses, and the capture key, from the environment.
  Object.assign(process.env, examples.env, captureKeys)
  const settings = readSettings(env, { isTTY: process.stdout.isTTY })
  let gateway
  try {
    gateway = await startGateway(settings)
  } catch (err) {
    await examples.close()
    throw err
  }

  // The demo's own client: closed after the traffic so its kept-alive sockets do not hold up Ctrl-C.
  // First every example customer asks every slice once, with its customer id (the sticky key): the
  // evidence noise is judged on builds up (legacy is asked twice, so asOf shows it changes on its own).
  const round = await customerRound(gateway.url)
  await sleep(COMPARISON_WAIT_MS)
  // Then the sample requests, one per story, whose verdicts the table shows.
  const client = new Agent()
  const outcomes: Outcome[] = []
  const run = randomUUID().slice(0, 8)
  for (const [index, sample] of SAMPLES.entries()) outcomes.push(await send(client, gateway.url, sample, `demo-${run}-${index}`))
  await client.close()
  // The teams' first triage decisions on the register the traffic filled.
  await sleep(COMPARISON_WAIT_MS)
  const triaged = await triageDemoDifferences(gateway.adminUrl)
  // A reconciliation run over every example policy, beside the running gateway, as a nightly job runs it.
  const reconciliation = await reconcileExamplePolicies(settings, gateway.config, createLogger({ level: settings.logLevel, destination: process.stderr }))

  const stop = async (): Promise<void> => {
    await gateway.close()
    await examples.close()
  }
  // Comparisons finish off the request path; --once waits for them by closing the gateway.
  if (values.once) await stop()
  else await sleep(COMPARISON_WAIT_MS)
  // The candidate config's translation fix, judged on the pairs the gateway captured (written by now).
  const recompared = await recompareCandidate(env)
  const ids = new Set(outcomes.map((o) => o.requestId))
  const found = await verdicts(settings.dataDir, ids)
  const bySide = (side: string): number => outcomes.filter((o) => o.authority === side).length
  process.stdout.write(`\nFicus demo — gateway ${gateway.url}, config ${gateway.config.version}\n\n${table(outcomes, found)}\n`)
  process.stdout.write(
    `legacy answered ${bySide('legacy')} request(s), modern answered ${bySide('modern')}; comparisons in ${join(shownDir, COMPARISONS_DIR)}\n`,
  )
  process.stdout.write(
    `\n${CUSTOMER_COUNT} example customers, each asking every slice once (${CUSTOMER_HEADER} is the slices' sticky key):\n${describeRound(round)}\n`,
  )
  process.stdout.write(`\nTriage of the discrepancy register (npx ficus triage list):\n${triaged.join('\n')}\n`)
  process.stdout.write(
    `\nA reconciliation run over every example policy (npx ficus reconcile coverage-status --keys examples/reconcile-keys.txt):\n${reconciliation}`,
  )
  process.stdout.write(
    `\nThe PNDC translation fix, proven on the captured pairs before it ships (npx ficus recompare coverage-status --since 1h --config examples/candidate-config.ts --dry-run):\n${recompared}`,
  )
  // The report of everything in the data directory (this run and earlier ones): `npx ficus report`.
  const aggregator = new ComparisonAggregator()
  await readComparisonsFromJsonl(join(settings.dataDir, COMPARISONS_DIR), (record) => aggregator.add(record))
  // With the register the demo's traffic filled and its triage: the report's triage section shows both decisions.
  const triage = await readTriage(gateway.triage)
  const report = buildReport(aggregator, gateway.config.slices, {
    source: `jsonl ${join(shownDir, COMPARISONS_DIR)}`,
    window: { from: null, to: null },
    triage,
  })
  process.stdout.write(`\n${renderText(report)}`)
  if (values.once) return bySide('legacy') > 0 && bySide('modern') > 0 ? 0 : 1
  const admin = gateway.adminUrl === 'http://127.0.0.1:9090' ? '' : `FICUS_ADMIN_URL=${gateway.adminUrl} `
  const clients = gateway.url === 'http://127.0.0.1:8080' || gateway.url === 'http://0.0.0.0:8080' ? '' : `FICUS_GATEWAY_URL=${gateway.url} `
  process.stdout.write(
    `\nThe gateway keeps running on ${gateway.url} (admin API and dashboard ${gateway.adminUrl}) — try, in another terminal:\n` +
      `  curl -i -H '${CUSTOMER_HEADER}: C-0001' ${gateway.url}/pas/v1/policy/P-1002/status\n` +
      `  ${admin}npx ficus flip coverage-status 25% --reason "start the rollout"          (refused: not ready)\n` +
      `  ${admin}npx ficus flip coverage-status 25% --reason "demo, accepted risk" --force (recorded as forced)\n` +
      `  ${clients}npm run clients        (about a quarter of the ${CUSTOMER_COUNT} customers now get modern, the same ones each run)\n` +
      `  ${admin}npx ficus status\n` +
      `  npx ficus report --data-dir ${shownDir} --format html --out report.html\n` +
      'Ctrl-C to stop.\n',
  )
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await stop()
  return 0
}

try {
  process.exitCode = await run()
} catch (err) {
  if (!(err instanceof FicusError)) throw err
  process.stderr.write(`demo: ${err.code}: ${err.message}\n`)
  process.exitCode = 1
}
