// The report benchmark: `ficus report` over a generated stream of comparisons, from JSONL files
// and from Kafka — wall time and the peak RSS of the report process.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { createKafkaClient } from '../src/kafka/index.ts'
import { rssSampler } from './process-stats.ts'
import { ROOT } from './targets.ts'

export interface ReportFigures {
  readonly records: number
  readonly sources: readonly { readonly source: string; readonly seconds: number; readonly peakRssMb: number; readonly writeSeconds: number }[]
  readonly markdown: string
}

export const REPORT_HEAP_MB = 128
/**
 * Semi-space bound of the report's young generation (MB), as README recommends for large reports:
 * V8 grows the young generation up to 128 MB for a process that allocates as fast as a report
 * parses, which was a third of the report's peak RSS (335 MB over two million Kafka comparisons,
 * 229 MB with this bound, measured; JSONL faster with it too).
 */
export const REPORT_SEMI_SPACE_MB = 16

const CATEGORIES = ['match', 'match', 'match', 'match', 'noise', 'timing-lag', 'body-mismatch', 'untranslated', 'shadow-error'] as const

/** The JSON line of comparison `i`: realistic shape and size, varied slices, categories and times. */
function line(i: number, start: number): string {
  const category = CATEGORIES[i % CATEGORIES.length] ?? 'match'
  const time = new Date(start + i * 50).toISOString()
  const failed = category === 'shadow-error'
  const outcome = category === 'body-mismatch' || category === 'untranslated' ? 'disagree' : failed ? 'not-compared' : 'agree'
  return JSON.stringify({
    schemaVersion: 1,
    eventType: 'ficus.comparison',
    eventId: randomUUID(),
    eventTime: time,
    requestTime: time,
    processingMs: 0.3,
    slice: ['coverage-status', 'billing-eligibility', 'claim-lodgement'][i % 3],
    route: 'GET /pas/v1/policy/:policyNumber/status',
    method: 'GET',
    entityKey: `P-${1000 + (i % 5000)}`,
    requestId: randomUUID(),
    traceparent: null,
    authority: 'legacy',
    flagVersion: 3,
    configVersion: 'sha256:0b661527ca7e',
    translationVersion: 'coverage-status/3',
    instance: 'bench',
    primary: {
      side: 'legacy',
      upstream: 'legacy-pas',
      status: 200,
      latencyMs: 3 + (i % 40),
      bodyHash: 'sha256:c94e6412bf647b09a7b7494d7519a81ac508b47e92fccb674993dcad3b8ccb79',
      bodyBytes: 174,
      contentType: 'application/json',
      error: null,
    },
    shadow: {
      side: 'modern',
      upstream: 'policy-context',
      status: failed ? null : 200,
      latencyMs: failed ? 2000 : 4 + (i % 55),
      bodyHash: failed ? null : 'sha256:268a6da0fb8e254e983427468631f8458a6c35c2344e1ab84ca030112e664d87',
      bodyBytes: failed ? null : 232,
      contentType: failed ? null : 'application/json',
      error: failed ? 'timeout' : null,
    },
    outcome,
    category,
    cause: failed ? 'timeout' : null,
    reasked: category === 'timing-lag',
    diff:
      outcome === 'disagree'
        ? [
            {
              path: category === 'untranslated' ? '/body/status' : '/body/eligible',
              kind: 'changed',
              legacyHash: 'hmac-sha256:5fef1f12a0eaa593fd40685721f1976a',
              modernHash: 'hmac-sha256:d8a02f062cc435236eb65c77b3bd5005',
            },
          ]
        : [],
    diffTruncated: false,
    noisePaths: category === 'noise' ? ['/body/asOf'] : [],
    untranslated: category === 'untranslated' ? [{ path: '/body/status', rule: 'values', value: 'PNDC' }] : [],
  })
}

async function runReport(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMb: number }> {
  const started = performance.now()
  // A capped heap, as README recommends for large reports: V8 otherwise grows lazily towards its
  // default limit (gigabytes on a big machine) before collecting the garbage of parsed records.
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${REPORT_HEAP_MB}`,
      `--max-semi-space-size=${REPORT_SEMI_SPACE_MB}`,
      join(ROOT, 'bin', 'ficus.js'),
      'report',
      '--format',
      'json',
      '--out',
      '/dev/null',
      '--config',
      'bench/bench-routes.config.ts',
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const sampler = rssSampler(() => (child.pid ? [child.pid] : []), 50)
  const [code] = (await once(child, 'exit')) as [number | null]
  const peak = sampler.stop()
  if (code !== 0) throw new Error(`ficus report exited ${String(code)}: ${stderr}`)
  return { seconds: (performance.now() - started) / 1000, peakRssMb: peak / 1048576 }
}

export async function reportBenchmark(records: number, log: (text: string) => void, kafkaBrokers: string | undefined): Promise<ReportFigures> {
  const sources: ReportFigures['sources'][number][] = []
  const start = Date.now() - records * 50
  const dir = await mkdtemp(join(tmpdir(), 'ficus-report-bench-'))
  try {
    // JSONL: the files the embedded sink writes.
    await mkdir(join(dir, 'comparisons'))
    let started = performance.now()
    const out = createWriteStream(join(dir, 'comparisons', 'comparisons.jsonl'))
    for (let i = 0; i < records; i++) {
      if (!out.write(`${line(i, start)}\n`)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    const writeSeconds = (performance.now() - started) / 1000
    log(`report bench: ${records} comparisons written to JSONL in ${writeSeconds.toFixed(1)} s`)
    sources.push({ source: 'jsonl', writeSeconds, ...(await runReport(['--source', 'jsonl', '--data-dir', dir], {})) })

    if (kafkaBrokers) {
      const topic = `bench-report-${randomUUID().slice(0, 8)}`
      const kafka = createKafkaClient({ clientId: 'ficus-report-bench', brokers: [kafkaBrokers] })
      const admin = await kafka.admin()
      await admin.ensureTopics([{ topic, partitions: 6, replicationFactor: 1 }])
      await admin.close()
      const producer = await kafka.producer({ idempotent: false })
      started = performance.now()
      const batch = 5_000
      for (let from = 0; from < records; from += batch) {
        const messages = []
        for (let i = from; i < Math.min(records, from + batch); i++) messages.push({ key: String(i % 3), value: line(i, start) })
        await producer.send([{ topic, messages }])
      }
      await producer.close()
      const produceSeconds = (performance.now() - started) / 1000
      log(`report bench: ${records} comparisons produced to Kafka in ${produceSeconds.toFixed(1)} s`)
      sources.push({
        source: 'kafka',
        writeSeconds: produceSeconds,
        ...(await runReport(['--source', 'kafka', '--topic', topic], { KAFKA_BROKERS: kafkaBrokers })),
      })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const markdown = [
    `\`node --max-old-space-size=${REPORT_HEAP_MB} --max-semi-space-size=${REPORT_SEMI_SPACE_MB} bin/ficus.js report --format json\` over ${records.toLocaleString('en')} generated comparisons (written beforehand; the time below is the report's alone):`,
    '',
    '| source | report time s | comparisons/s | peak RSS MB |',
    '| --- | --- | --- | --- |',
    ...sources.map(
      (source) => `| ${source.source} | ${source.seconds.toFixed(1)} | ${(records / source.seconds).toFixed(0)} | ${source.peakRssMb.toFixed(0)} |`,
    ),
  ].join('\n')
  return { records, sources, markdown }
}
