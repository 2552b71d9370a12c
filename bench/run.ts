// `npm run bench`: what Ficus costs, side by side with what a team would use instead, measured in
// one run on one machine. See bench/README.md for the options and how to read the table.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { cpuPlan, pin, type CpuPlan } from './pinning.ts'
import { median } from './median.ts'
import { cpuSeconds, eventLoopDelayP99Ms, rssSampler, youngGcSeconds } from './process-stats.ts'
import { reportBenchmark, type ReportFigures } from './report-bench.ts'
import { soak, type SoakFigures } from './soak.ts'
import { bareProxy, buildDist, direct, ficus, freePort, nginx, nginxAvailable, ROOT, startUpstreams, type Target } from './targets.ts'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    smoke: { type: 'boolean', default: false },
    soak: { type: 'string' },
    kafka: { type: 'boolean', default: true },
    report: { type: 'boolean', default: true },
    'only-report': { type: 'boolean', default: false },
    'report-records': { type: 'string', default: '2000000' },
    rate: { type: 'string', default: '2000' },
    only: { type: 'string' },
    pin: { type: 'boolean', default: false },
    'out-dir': { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
  allowNegative: true,
})

type Payload = 'small' | 'large'
interface Scenario {
  readonly name: string
  readonly payload: Payload
  readonly target: Target
  readonly note: string
  /** Requests per second for an open-loop run at a fixed rate; undefined: as fast as it goes. */
  readonly rate?: number
  /** Several processes meant to use several cores (`--workers 2`): never pinned to one. */
  readonly multiCore?: boolean
}
interface Run {
  readonly requests: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly errors: number
  readonly cpuSeconds: number
  readonly peakRss: number
  /** The target's event-loop delay p99 over the run (ms), from its own /metrics; null where it has none. */
  readonly loopP99Ms: number | null
  /** Seconds the target spent in young-generation collections during the run (its own /metrics); null where it has none. */
  readonly youngGcSeconds: number | null
}
interface Row {
  readonly scenario: string
  readonly payload: Payload
  readonly note: string
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly errors: number
  /** CPU time of the proxy's own process(es) per request, µs; null for the upstream itself. */
  readonly cpuUsPerRequest: number | null
  readonly peakRssMb: number | null
  /** The median round's event-loop delay p99 (ms); null for targets without Ficus's /metrics. */
  readonly loopP99Ms: number | null
  /** Young-generation collection pause per request (µs, median of the rounds); null for targets without Ficus's /metrics. */
  readonly youngGcUsPerRequest: number | null
}

/** The slow and failing modern sides run under Ficus's default shadow limits, as a deployment would (bench-routes.config.ts). */
const DEFAULT_LIMITS = { FICUS_BENCH_LIMITS: 'default' }

const smoke = values.smoke
const duration = smoke ? 1 : Number(values.duration)
const rounds = smoke ? 1 : Number(values.rounds)
const connections = Number(values.connections)
const log = (text: string): void => void process.stderr.write(`${text}\n`)

/**
 * The event-loop delay p99 from Ficus's /metrics (prom-client resets it at every scrape: a scrape
 * before the run starts its window), less the sampler's interval that the gauge includes.
 */
async function ownMetrics(target: Target): Promise<{ loopP99Ms: number | null; youngGcSeconds: number | null }> {
  if (target.metricsUrl === undefined) return { loopP99Ms: null, youngGcSeconds: null }
  try {
    const text = await (await fetch(target.metricsUrl)).text()
    return { loopP99Ms: eventLoopDelayP99Ms(text), youngGcSeconds: youngGcSeconds(text) }
  } catch {
    return { loopP99Ms: null, youngGcSeconds: null }
  }
}

async function measure(target: Target, path: string, seconds: number, rate?: number): Promise<Run> {
  const pids = target.pids()
  const start = await ownMetrics(target)
  const before = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
  const sampler = rssSampler(() => target.pids())
  const result = await autocannon({ url: `${target.url}${path}`, connections, duration: seconds, ...(rate === undefined ? {} : { overallRate: rate }) })
  const peakRss = sampler.stop()
  const after = target.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0)
  const end = await ownMetrics(target)
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9 ?? result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuSeconds: after - before,
    peakRss,
    loopP99Ms: end.loopP99Ms,
    youngGcSeconds: start.youngGcSeconds === null || end.youngGcSeconds === null ? null : end.youngGcSeconds - start.youngGcSeconds,
  }
}

/** A round's CPU time per request of the target's processes (µs); null when nothing was measured or answered. */
function cpuUsPerRequest(target: Target, run: Run): number | null {
  return target.pids().length > 0 && run.requests > 0 ? (run.cpuSeconds / run.requests) * 1e6 : null
}

/** A round's young-collection pause per request (µs); null for a target without Ficus's /metrics or a round nothing answered. */
function youngGcUsPerRequest(run: Run): number | null {
  return run.youngGcSeconds !== null && run.requests > 0 ? (run.youngGcSeconds / run.requests) * 1e6 : null
}

/**
 * One row from a scenario's rounds: each figure the median of the rounds' (a round the shared
 * machine disturbed moves a median of three less than a mean: one run's routing rounds gave 3014,
 * 5510 and 5508 req/s), errors summed, peak RSS the highest of any round.
 */
function summarise(scenario: Scenario, runs: readonly Run[]): Row {
  const middle = (pick: (run: Run) => number): number => median(runs.map(pick))
  const measured = scenario.target.pids().length > 0
  const cpu = runs.flatMap((run) => cpuUsPerRequest(scenario.target, run) ?? [])
  const loops = runs.flatMap((run) => (run.loopP99Ms === null ? [] : [run.loopP99Ms]))
  const youngGc = runs.flatMap((run) => youngGcUsPerRequest(run) ?? [])
  return {
    scenario: scenario.rate === undefined ? scenario.name : `${scenario.name} @${scenario.rate}/s`,
    payload: scenario.payload,
    note: scenario.note,
    rps: middle((run) => run.rps),
    p50: middle((run) => run.p50),
    p99: middle((run) => run.p99),
    p999: middle((run) => run.p999),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    cpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
    peakRssMb: measured ? Math.max(...runs.map((run) => run.peakRss)) / 1048576 : null,
    loopP99Ms: loops.length > 0 ? median(loops) : null,
    youngGcUsPerRequest: youngGc.length > 0 ? median(youngGc) : null,
  }
}

function ratio(value: number | null, base: number | null | undefined): string {
  if (value === null || base === null || base === undefined || base === 0) return ''
  return ` (${(value / base).toFixed(2)}×)`
}

function rateOf(row: Row): string | undefined {
  return row.scenario.split(' @')[1]
}

/** The bare proxy's row a row is measured against: same payload, same fixed rate (or full load). */
function baseline(rows: readonly Row[], row: Row): Row | undefined {
  const rate = rateOf(row)
  const name = rate === undefined ? 'bare-proxy' : `bare-proxy @${rate}`
  return rows.find((candidate) => candidate.scenario === name && candidate.payload === row.payload)
}

function table(rows: readonly Row[]): string {
  const lines = [
    '| scenario | payload | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU µs/req | peak RSS MB | loop p99 ms | young GC µs/req |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const row of rows) {
    // A fixed-rate row is compared with the bare proxy at the same rate; the others with the bare proxy at full load.
    const base = baseline(rows, row)
    lines.push(
      `| ${row.scenario} | ${row.payload} | ${row.rps.toFixed(0)}${ratio(row.rps, base?.rps)} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)}${ratio(row.p99, base?.p99)} | ${row.p999.toFixed(1)} | ${row.errors} | ${row.cpuUsPerRequest === null ? '–' : row.cpuUsPerRequest.toFixed(0)}${ratio(row.cpuUsPerRequest, base?.cpuUsPerRequest)} | ${row.peakRssMb === null ? '–' : row.peakRssMb.toFixed(0)}${ratio(row.peakRssMb, base?.peakRssMb)} | ${row.loopP99Ms === null ? '–' : row.loopP99Ms.toFixed(1)} | ${row.youngGcUsPerRequest === null ? '–' : row.youngGcUsPerRequest.toFixed(1)} |`,
    )
  }
  return lines.join('\n')
}

interface Check {
  readonly target: string
  readonly met: boolean | null
  readonly figures: string
}

/** The report reader's throughput targets per source (issue 18): comparisons a second. */
const REPORT_RATE_TARGETS: Readonly<Record<string, number>> = { jsonl: 100_000, kafka: 60_000 }

/** Issue 18's targets, each from this run's rows: CPU per request and latency against the bare proxy measured alongside. */
function checks(rows: readonly Row[], soakFigures: SoakFigures | undefined, report: ReportFigures | undefined): Check[] {
  const find = (name: string, payload: Payload = 'small'): Row | undefined => rows.find((row) => row.scenario === name && row.payload === payload)
  const out: Check[] = []
  const cpu = (name: string, payload: Payload, limit: number, what: string): void => {
    const row = find(name, payload)
    const base = find('bare-proxy', payload)
    if (!row || !base || row.cpuUsPerRequest === null || base.cpuUsPerRequest === null) return
    const times = row.cpuUsPerRequest / base.cpuUsPerRequest
    out.push({
      target: `CPU per request, ${what} (${payload}): ≤ ${limit.toFixed(2)}× the bare proxy`,
      met: times <= limit,
      figures: `${times.toFixed(2)}× (${row.cpuUsPerRequest.toFixed(0)} vs ${base.cpuUsPerRequest.toFixed(0)} µs)`,
    })
  }
  cpu('ficus-routing', 'small', 1.15, 'routing only')
  cpu('ficus-shadow-jsonl', 'small', 2.0, '100 % shadow + compare + JSONL')
  cpu('ficus-shadow-jsonl', 'large', 2.5, '100 % shadow + compare + JSONL')
  cpu('ficus-shadow-kafka', 'small', 2.3, '100 % shadow + compare + Kafka')
  cpu('ficus-shadow-10pct', 'small', 1.3, '10 % sampled')
  const routing = find('ficus-routing')
  for (const name of ['ficus-slow-modern', 'ficus-failing-modern']) {
    const saturated = find(name)
    if (saturated && routing)
      out.push({
        target: `${name} at full load: throughput and p99 within 10 % of Ficus with shadow off`,
        met: saturated.rps >= 0.9 * routing.rps && saturated.p99 <= Math.max(1.1 * routing.p99, routing.p99 + 1),
        figures: `${(saturated.rps / routing.rps).toFixed(2)}× throughput, p99 ${saturated.p99.toFixed(1)} vs ${routing.p99.toFixed(1)} ms`,
      })
  }
  const rated = rows.find((row) => row.scenario.startsWith('ficus-routing @'))
  const rate = rated ? rateOf(rated) : undefined
  const bareRated = rate === undefined ? undefined : find(`bare-proxy @${rate}`)
  // autocannon measures whole milliseconds: a p99 within the bound or within 1 ms of it counts as kept.
  const latency = (name: string, limit: number, what: string): void => {
    const row = find(`${name} @${rate ?? ''}`)
    if (!row || !bareRated) return
    out.push({
      target: `p99 at ${rate ?? ''}, ${what}: ≤ ${limit}× the bare proxy at the same rate`,
      met: row.p99 <= Math.max(limit * bareRated.p99, bareRated.p99 + 1),
      figures: `${row.p99.toFixed(1)} vs ${bareRated.p99.toFixed(1)} ms (${(row.p99 / bareRated.p99).toFixed(2)}×)`,
    })
  }
  latency('ficus-routing', 1.5, 'routing only')
  latency('ficus-shadow-jsonl', 2, '100 % shadow')
  const shadowRated = find(`ficus-shadow-jsonl @${rate ?? ''}`)
  if (shadowRated?.loopP99Ms !== null && shadowRated?.loopP99Ms !== undefined)
    out.push({
      target: `event-loop delay p99 at ${rate ?? ''} with 100 % shadow: < 5 ms`,
      met: shadowRated.loopP99Ms < 5,
      figures: `${shadowRated.loopP99Ms.toFixed(1)} ms (at full load: ${find('ficus-shadow-jsonl')?.loopP99Ms?.toFixed(1) ?? '–'} ms)`,
    })
  for (const name of ['ficus-slow-modern', 'ficus-failing-modern']) {
    const row = find(`${name} @${rate ?? ''}`)
    if (!rated || !row) continue
    out.push({
      target: `${name} at ${rate ?? ''}: throughput within 10 % and p99 within 10 % (or 1 ms) of Ficus with shadow off at the same rate`,
      met: row.rps >= 0.9 * rated.rps && row.p99 <= Math.max(1.1 * rated.p99, rated.p99 + 1),
      figures: `${(row.rps / rated.rps).toFixed(2)}× throughput, p99 ${row.p99.toFixed(1)} vs ${rated.p99.toFixed(1)} ms`,
    })
  }
  for (const name of ['ficus-routing', 'ficus-shadow-jsonl']) {
    const one = find(name)
    const two = find(`${name}-2w`)
    if (one && two)
      out.push({
        target: `${name} with 2 workers against 1 (figure, no target)`,
        met: null,
        figures: `${two.rps.toFixed(0)} vs ${one.rps.toFixed(0)} req/s (${(two.rps / one.rps).toFixed(2)}×)`,
      })
  }
  if (soakFigures)
    out.push({
      target: 'soak: RSS growth < 10 % from the middle to the end',
      met: soakFigures.growthPercent < 10,
      figures: `${soakFigures.growthPercent.toFixed(1)} %`,
    })
  if (report)
    for (const source of report.sources) {
      const floor = REPORT_RATE_TARGETS[source.source] ?? 0
      const rate = report.records / source.seconds
      out.push({
        target: `report over ${report.records.toLocaleString('en')} comparisons (${source.source}): peak RSS < 300 MB, ≥ ${floor.toLocaleString('en')} comparisons/s`,
        met: source.peakRssMb < 300 && rate >= floor,
        figures: `${source.peakRssMb.toFixed(0)} MB, ${rate.toFixed(0)} comparisons/s (${source.seconds.toFixed(1)} s)`,
      })
    }
  return out
}

function machine(): string {
  const cpu = cpus()
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`
}

/**
 * `--only-report`: the report benchmark alone (with its own broker unless `--no-kafka`), written to
 * report.md / report.json so that latest.md, the full run's, stays as it was.
 */
async function onlyReport(): Promise<void> {
  let broker: { brokers: string; destroy(): Promise<void> } | undefined
  if (values.kafka) {
    try {
      const { startKafkaBroker } = await import('../test/kafka/kafka-broker.ts')
      broker = await startKafkaBroker()
    } catch (err) {
      log(`Kafka broker could not start (${(err as Error).message.slice(0, 200)}): Kafka source skipped`)
    }
  }
  try {
    const report = await reportBenchmark(Number(values['report-records']), log, broker?.brokers)
    const results = checks([], undefined, report)
    const markdown = [
      '# Ficus report benchmark',
      '',
      `${new Date().toISOString()} · ${machine()}`,
      '',
      report.markdown,
      '',
      '## Targets',
      '',
      ...results.map((check) => `- ${check.met === null ? '?' : check.met ? 'met' : '**not met**'} — ${check.target}: ${check.figures}`),
      '',
    ].join('\n')
    await writeFile(join(values['out-dir'], 'report.md'), markdown)
    await writeFile(join(values['out-dir'], 'report.json'), JSON.stringify({ machine: machine(), report, checks: results }, null, 2))
    process.stdout.write(`${markdown}\n`)
  } finally {
    await broker?.destroy()
  }
}

async function main(): Promise<void> {
  await mkdir(values['out-dir'], { recursive: true })
  if (values.soak !== undefined) {
    const figures = await soak(Number(values.soak), log)
    const text = `# Ficus soak\n\n${machine()}\n\n${figures.markdown}\n`
    await writeFile(join(values['out-dir'], 'soak.md'), text)
    process.stdout.write(text)
    return
  }
  log(`machine: ${machine()}`)
  if (values['only-report']) {
    await onlyReport()
    return
  }
  // Ficus as it is deployed: compiled by tsc (the image runs dist/), not transpiled at load by tsx,
  // whose output wraps every closure in a naming helper. The smoke run keeps the sources (no build).
  const dist = !smoke
  if (dist) {
    log('building dist/ (npm run build)')
    buildDist()
  }
  const upstreams = await startUpstreams()
  const failing = `http://127.0.0.1:${await freePort()}`
  const started: Target[] = []
  const start = async (target: Promise<Target>): Promise<Target> => {
    const ready = await target
    started.push(ready)
    return ready
  }
  let stopBroker: (() => Promise<void>) | undefined
  let brokerAddress: string | undefined
  let brokerPid: number | undefined
  const plan: CpuPlan | undefined = values.pin ? cpuPlan() : undefined
  if (values.pin && !plan) log('--pin: needs two cores and taskset; running unpinned')
  try {
    const scenarios: Scenario[] = []
    const add = (name: string, target: Target, note: string, payloads: readonly Payload[] = smoke ? ['small'] : ['small', 'large']): void => {
      for (const payload of payloads) scenarios.push({ name, payload, target, note, multiCore: name.endsWith('-2w') })
    }
    // The same target at a fixed request rate below saturation: does a bad modern side hurt clients?
    const fixedRate = Number(values.rate)
    const atRate = (name: string): void => {
      const scenario = scenarios.find((candidate) => candidate.name === name && candidate.payload === 'small')
      if (scenario) scenarios.push({ ...scenario, rate: fixedRate })
    }
    add('direct', direct(upstreams.legacy), 'the upstream itself: the floor')
    add('bare-proxy', await start(bareProxy(upstreams.legacy)), '@fastify/http-proxy, no Ficus logic: the baseline')
    const withNginx = !smoke && nginxAvailable()
    if (!smoke && !withNginx) log('nginx not installed: NGINX scenarios skipped (Debian: apt-get install nginx-light)')
    if (withNginx) {
      add('nginx-proxy', await start(nginx({ legacy: upstreams.legacy })), 'NGINX reverse proxy, one worker')
      add('nginx-mirror', await start(nginx({ legacy: upstreams.legacy, modern: upstreams.modern })), 'NGINX with `mirror` to modern', ['small'])
    }
    add('ficus-routing', await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: false })), 'Ficus, shadow off')
    add(
      'ficus-shadow-jsonl',
      await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: true })),
      'Ficus, 100 % shadow + compare + JSONL',
    )
    if (!smoke)
      add(
        'ficus-shadow-10pct',
        await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: true, env: { FICUS_BENCH_SAMPLE: '10' } })),
        'Ficus, 10 % of requests shadowed + compare + JSONL',
        ['small'],
      )
    // `ficus start --workers 2`: the same gateway on two processes behind one port.
    add(
      'ficus-routing-2w',
      await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: false, workers: 2 })),
      'Ficus, shadow off, 2 workers',
      ['small'],
    )
    add(
      'ficus-shadow-jsonl-2w',
      await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: true, workers: 2 })),
      'Ficus, 100 % shadow + compare + JSONL, 2 workers',
      ['small'],
    )
    if (!smoke && values.kafka) {
      try {
        const { startKafkaBroker } = await import('../test/kafka/kafka-broker.ts')
        const broker = await startKafkaBroker()
        stopBroker = () => broker.destroy()
        brokerAddress = broker.brokers
        brokerPid = broker.pid()
        const env = { KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_REPLICATION: '1', KAFKA_TOPIC_PARTITIONS: '6' }
        add(
          'ficus-shadow-kafka',
          await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.modern, shadow: true, env })),
          'Ficus, 100 % shadow + compare + Kafka',
          ['small'],
        )
      } catch (err) {
        log(`Kafka broker could not start (${(err as Error).message.slice(0, 200)}): Kafka scenario skipped`)
      }
    }
    if (!smoke) {
      add(
        'ficus-slow-modern',
        await start(ficus({ dist, legacy: upstreams.legacy, modern: upstreams.slowModern, shadow: true, env: DEFAULT_LIMITS })),
        'Ficus, modern answers 200 ms late',
        ['small'],
      )
      add(
        'ficus-failing-modern',
        await start(ficus({ dist, legacy: upstreams.legacy, modern: failing, shadow: true, env: DEFAULT_LIMITS })),
        'Ficus, modern refuses connections',
        ['small'],
      )
      if (withNginx) {
        add('nginx-mirror-slow-modern', await start(nginx({ legacy: upstreams.legacy, modern: upstreams.slowModern })), 'NGINX mirror, modern 200 ms late', [
          'small',
        ])
        add('nginx-mirror-failing-modern', await start(nginx({ legacy: upstreams.legacy, modern: failing })), 'NGINX mirror, modern refuses', ['small'])
      }
    }

    if (!smoke)
      for (const name of [
        'bare-proxy',
        'ficus-routing',
        'ficus-shadow-jsonl',
        'ficus-slow-modern',
        'ficus-failing-modern',
        'nginx-proxy',
        'nginx-mirror-slow-modern',
        'nginx-mirror-failing-modern',
      ])
        atRate(name)
    // --only: a regular expression over scenario names (e.g. 'bare|routing'), to iterate on a few.
    const only = values.only === undefined ? undefined : new RegExp(values.only)
    if (only) scenarios.splice(0, scenarios.length, ...scenarios.filter((scenario) => only.test(scenario.name)))
    if (plan) {
      // Every measured proxy on its own core (the 2-worker ones excepted), the rest on the others.
      for (const pid of [process.pid, upstreams.pid, brokerPid]) pin(pid, plan.rest)
      for (const scenario of scenarios) for (const pid of scenario.target.pids()) pin(pid, scenario.multiCore ? plan.all : plan.measured)
      log(`pinned: measured proxies on CPU ${plan.measured}, load generator, upstreams and broker on CPU ${plan.rest}`)
    }
    const runs = new Map<Scenario, Run[]>(scenarios.map((scenario) => [scenario, []]))
    for (let round = 0; round < rounds; round++) {
      // A different order each round, so that drift (thermal, noisy neighbours) hits every scenario alike.
      const order = scenarios.map((_, index) => scenarios[(index + round * 3) % scenarios.length] as Scenario)
      for (const scenario of order) {
        const path = `/${scenario.payload}/P-1001`
        await measure(scenario.target, path, smoke ? 0.5 : 1, scenario.rate) // warm-up, not counted
        const run = await measure(scenario.target, path, duration, scenario.rate)
        runs.get(scenario)?.push(run)
        const cpu = cpuUsPerRequest(scenario.target, run)
        const youngGc = youngGcUsPerRequest(run)
        log(
          `round ${round + 1}/${rounds} ${scenario.name}${scenario.rate === undefined ? '' : ` @${scenario.rate}/s`} ${scenario.payload}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms, ${run.errors} errors${cpu === null ? '' : `, ${cpu.toFixed(0)} µs CPU/req`}${youngGc === null ? '' : `, young GC ${youngGc.toFixed(1)} µs/req`}`,
        )
      }
    }
    const rows = scenarios.map((scenario) => summarise(scenario, runs.get(scenario) ?? []))
    for (const target of started.splice(0)) await target.stop()
    await upstreams.stop()
    // The report benchmark has the machine to itself: its reader and the broker on every core again.
    if (plan) for (const pid of [process.pid, brokerPid]) pin(pid, plan.all)

    const report = !smoke && values.report ? await reportBenchmark(Number(values['report-records']), log, brokerAddress) : undefined
    const results = checks(rows, undefined, report)
    const markdown = [
      '# Ficus benchmark',
      '',
      `${new Date().toISOString()} · ${machine()} · ${connections} connections, ${rounds} round(s) of ${duration} s per scenario, autocannon in the bench process.`,
      plan
        ? `Pinned (\`--pin\`): each proxy on CPU ${plan.measured} alone (the 2-worker rows on every CPU); autocannon, the upstreams and the broker on CPU ${plan.rest}.`
        : 'Not pinned: every process shares every CPU (`--pin` gives each proxy a core of its own).',
      'Ratios in brackets are to the bare @fastify/http-proxy with the same payload, measured in the same run.',
      '',
      table(rows),
      '',
      ...(report ? ['## Report over generated comparisons', '', report.markdown, ''] : []),
      '## Targets',
      '',
      ...results.map((check) => `- ${check.met === null ? 'figure' : check.met ? 'met' : '**not met**'} — ${check.target}: ${check.figures}`),
      '',
    ].join('\n')
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const json = JSON.stringify({ machine: machine(), connections, rounds, duration, pinned: plan ?? null, rows, report, checks: results }, null, 2)
    await writeFile(join(values['out-dir'], 'latest.md'), markdown)
    await writeFile(join(values['out-dir'], 'latest.json'), json)
    if (!smoke) {
      await writeFile(join(values['out-dir'], `bench-${stamp}.md`), markdown)
      await writeFile(join(values['out-dir'], `bench-${stamp}.json`), json)
    }
    process.stdout.write(`${markdown}\n`)
  } finally {
    for (const target of started) await target.stop().catch(() => undefined)
    await stopBroker?.()
  }
}

await main()
process.exit(0)
