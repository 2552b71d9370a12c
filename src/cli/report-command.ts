import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AdminClient } from '../admin/admin-client.ts'
import type { AuditEntry } from '../authority/authority-store.ts'
import { parseCliArgs, usageError } from './args.ts'
import { loadConfig } from '../config/load.ts'
import type { SliceConfig } from '../config/types.ts'
import { fail, FicusError } from '../errors/errors.ts'
import { readReportSettings } from '../app/settings.ts'
import { readStoredTriage } from '../app/triage-stores.ts'
import { COMPARISONS_DIR } from '../publish/open-sinks.ts'
import { isShadowSkips } from '../publish/shadow-skips.ts'
import { readComparisonsFromJsonl } from '../report/sources/jsonl-source.ts'
import { readComparisonsFromKafka } from '../report/sources/kafka-source.ts'
import { progressLine } from '../report/progress.ts'
import { renderHtml, type AuthorityChange } from '../report/render-html.ts'
import { renderMarkdown } from '../report/render-markdown.ts'
import { renderText } from '../report/render-text.ts'
import { buildReport, ComparisonAggregator, type Report, type Window } from '../report/report.ts'

export const REPORT_FORMATS = ['text', 'md', 'json', 'html'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]
/** Exit code of `ficus report --require-ready` when the slice is not ready (errors exit 1). */
export const NOT_READY_EXIT_CODE = 3

/** What a running gateway says about its slices' authority, for the HTML report. */
interface LiveAuthority {
  readonly authorities: Readonly<Record<string, string>>
  readonly changes: Readonly<Record<string, readonly AuthorityChange[]>>
}

const RENDERERS: Readonly<Record<ReportFormat, (report: Report, live: LiveAuthority) => string>> = {
  text: renderText,
  md: renderMarkdown,
  json: (report) => `${JSON.stringify(report, null, 2)}\n`,
  html: (report, live) => renderHtml(report, live.authorities, live.changes),
}

/** Each slice's authority and its last ten changes, from the admin API of a running gateway. */
async function liveAuthority(baseUrl: string, token: string | undefined, sliceIds: readonly string[]): Promise<LiveAuthority> {
  const client = new AdminClient({ baseUrl, token, actor: 'ficus report' })
  const listed = await client.call<{ slices: { id: string; authority: string }[] }>('GET', 'admin/slices')
  const authorities = Object.fromEntries(listed.slices.map((slice) => [slice.id, slice.authority]))
  const changes: Record<string, AuthorityChange[]> = {}
  for (const id of sliceIds) {
    if (!(id in authorities)) continue
    const history = await client.call<{ entries: AuditEntry[] }>('GET', `admin/history?slice=${encodeURIComponent(id)}&limit=10`)
    changes[id] = history.entries.map((entry) => ({
      at: entry.at,
      previous: entry.previous,
      authority: entry.authority,
      actor: entry.actor,
      reason: entry.reason,
    }))
  }
  return { authorities, changes }
}

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `24h` → milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text)
  if (!match) throw usageError(`--since must be a duration such as 30m, 24h or 7d (got ${JSON.stringify(text)})`)
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

function parseTime(option: string, text: string | undefined): number | null {
  if (text === undefined) return null
  const time = Date.parse(text)
  if (Number.isNaN(time)) throw usageError(`${option} must be an ISO 8601 time such as 2026-11-23T10:00:00Z (got ${JSON.stringify(text)})`)
  return time
}

export interface ReportIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WriteStream & { isTTY?: boolean }
  readonly cwd: string
}

/**
 * `ficus report`: reads comparisons (Kafka over a time window, or the JSONL files), aggregates them
 * per slice in bounded memory and renders the report with each slice's readiness verdict.
 */
export async function reportCommand(args: readonly string[], io: ReportIo): Promise<number> {
  const { values } = parseCliArgs({
    args: [...args],
    allowPositionals: false,
    strict: true,
    options: {
      source: { type: 'string' },
      'data-dir': { type: 'string' },
      topic: { type: 'string' },
      since: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      slice: { type: 'string' },
      format: { type: 'string', default: 'text' },
      out: { type: 'string' },
      'require-ready': { type: 'string' },
      config: { type: 'string' },
      rules: { type: 'string' },
      'admin-url': { type: 'string' },
      run: { type: 'string' },
    },
  })
  const format = values.format as ReportFormat
  if (!REPORT_FORMATS.includes(format)) throw usageError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got ${JSON.stringify(values.format)})`)
  if (values.since !== undefined && values.from !== undefined) throw usageError('give --since or --from, not both')
  const settings = readReportSettings(io.env)
  const { brokers } = settings
  const source = values.source ?? (brokers.length > 0 ? 'kafka' : 'jsonl')
  if (source !== 'kafka' && source !== 'jsonl') throw usageError(`--source must be kafka or jsonl (got ${JSON.stringify(source)})`)
  if (source === 'kafka' && brokers.length === 0) throw usageError('--source kafka needs KAFKA_BROKERS')
  const window: Window = {
    from: values.since === undefined ? parseTime('--from', values.from) : Date.now() - parseDuration(values.since),
    to: parseTime('--to', values.to),
  }

  // The routes config gives descriptions and readiness thresholds; without one, defaults apply.
  const configFile = values.config ?? settings.configFile
  let slices: readonly SliceConfig[] = []
  try {
    slices = (await loadConfig(configFile, io.cwd)).slices
  } catch (err) {
    if (!(err instanceof FicusError) || err.code !== 'FICUS_ERR_CONFIG_NOT_FOUND' || values.config !== undefined) throw err
    io.stderr.write(`ficus: no ${configFile} here: readiness uses the default thresholds\n`)
  }
  if (values.slice !== undefined && slices.length > 0 && !slices.some((slice) => slice.id === values.slice)) {
    throw fail.unknownSlice(`unknown slice ${JSON.stringify(values.slice)}`)
  }

  const aggregator = new ComparisonAggregator({ window })
  const progress = progressLine(io.stderr, 'reading comparisons')
  const wanted = values.slice
  // --run: the comparisons of one reconciliation run alone (its run id is their causation).
  const run = values.run
  if (run !== undefined && !/^[A-Za-z0-9][\w.-]{0,63}$/.test(run)) throw usageError(`--run must be a reconciliation run id (got ${JSON.stringify(run)})`)
  let ofRun = 0
  const add = (record: Parameters<ComparisonAggregator['add']>[0]): void => {
    if (wanted !== undefined && record.slice !== wanted) return
    // Skip aggregates are live traffic's: never of a reconciliation run.
    if (run !== undefined && (isShadowSkips(record) || record.origin !== 'reconcile' || record.causationId !== run)) return
    ofRun += 1
    aggregator.add(record)
  }
  const dataDir = resolve(io.cwd, values['data-dir'] ?? settings.dataDir)
  let described: string
  try {
    if (source === 'kafka') {
      const topic = values.topic ?? settings.topic
      await readComparisonsFromKafka({ brokers, topic, from: window.from, to: window.to }, add, progress.update)
      described = `kafka ${topic}`
    } else {
      const dir = join(dataDir, COMPARISONS_DIR)
      await readComparisonsFromJsonl(dir, add, progress.update)
      described = `jsonl ${dir}`
    }
  } finally {
    progress.end()
  }

  if (run !== undefined && ofRun === 0)
    throw fail.unknownRun(
      `no comparison of reconciliation run ${run} in ${described}${wanted === undefined ? '' : ` (slice ${wanted})`}: check the run id and the source`,
    )
  // Triage from the shared register with REDIS_URL, else from the data directory's.
  const triage = await readStoredTriage({ redisUrl: settings.redisUrl, redisPrefix: settings.redisPrefix, dataDir }, wanted)
  if (run !== undefined) described += `, reconciliation run ${run}`
  const report = buildReport(aggregator, slices, {
    source: described,
    window,
    triage,
    ...(wanted === undefined ? {} : { slice: wanted }),
    ...(values.rules === undefined ? {} : { rulesHash: values.rules }),
  })
  // The HTML report shows each slice's authority and recent flips when a running gateway is named.
  const adminUrl = values['admin-url'] ?? settings.adminUrl
  const live =
    format === 'html' && adminUrl !== undefined
      ? await liveAuthority(
          adminUrl,
          settings.adminToken,
          report.slices.map((slice) => slice.slice),
        )
      : { authorities: {}, changes: {} }
  const text = RENDERERS[format](report, live)
  if (values.out === undefined) io.stdout.write(text)
  else {
    await writeFile(resolve(io.cwd, values.out), text)
    io.stderr.write(`ficus: report written to ${values.out}\n`)
  }

  const required = values['require-ready']
  if (required !== undefined) {
    const slice = report.slices.find((candidate) => candidate.slice === required)
    if (!slice) throw fail.unknownSlice(`unknown slice ${JSON.stringify(required)}`)
    if (!slice.readiness.ready) {
      const unmet = slice.readiness.criteria.filter((criterion) => !criterion.met).map((criterion) => criterion.id)
      io.stderr.write(`ficus: slice ${required} is not ready (unmet: ${unmet.join(', ')})\n`)
      return NOT_READY_EXIT_CODE
    }
  }
  return 0
}
