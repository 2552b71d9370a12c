import { resolve } from 'node:path'
import { openCapturedPairs } from '../app/recompare-source.ts'
import { openRecompareDeps } from '../app/recompare-deps.ts'
import { readSettings } from '../app/settings.ts'
import { PublishedPaths } from '../compare/published-paths.ts'
import { loadConfig } from '../config/load.ts'
import { fail } from '../errors/errors.ts'
import { createLogger } from '../observability/logger.ts'
import { recompare } from '../reconcile/recompare.ts'
import { renderRecompareText, type RecompareReport } from '../reconcile/recompare-render.ts'
import { parseCliArgs, usageError } from './args.ts'

export const DEFAULT_RECOMPARE_EXAMPLES = 3
const MAX_RECOMPARE_EXAMPLES = 50
const WINDOW = /^(\d+)(m|h|d)$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const
/** The zone offset a date-time names (0 for Z or a date alone), in ms east of UTC. */
function zoneOffsetMs(text: string): number {
  const zone = /([+-])(\d{2}):(\d{2})$/.exec(text.length > 10 ? text : '')
  return zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) * 60_000 : 0
}

/** A date, or a date-time with its zone: a time without one would mean a different instant on each machine. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i

export interface RecompareIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly cwd: string
}

/** Where the captured pairs come from: the capture store (app/recompare-source.ts); tests give their own. */
export interface RecompareCommandDeps {
  readonly openPairs: typeof openCapturedPairs
}

/** `30m`, `24h`, `7d` before `now`, or an ISO 8601 date or date-time with its zone; a usage error otherwise. */
export function parseWindowTime(option: '--since' | '--until', text: string, now: Date): Date {
  const ago = WINDOW.exec(text)
  if (ago) {
    const ms = Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS]
    if (ms <= 0) throw usageError(`${option} must be a window longer than zero (got ${JSON.stringify(text)})`)
    const at = new Date(now.getTime() - ms)
    if (Number.isNaN(at.getTime())) throw usageError(`${option} is a window longer than a date can reach back (got ${JSON.stringify(text)})`)
    return at
  }
  const time = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN
  // Date.parse rolls a day that does not exist (31 April) over into the next month: refused instead.
  if (Number.isNaN(time) || new Date(time + zoneOffsetMs(text)).toISOString().slice(0, 10) !== text.slice(0, 10))
    throw usageError(
      `${option} must be a window such as 30m, 24h or 7d, or an ISO 8601 time with its zone such as 2026-11-23T10:00:00Z (got ${JSON.stringify(text)})`,
    )
  return new Date(time)
}

/** The window `[since, until)` of `--since` and `--until`; until defaults to now (open). */
export function parseWindow(since: string | undefined, until: string | undefined, now: Date): { since: Date; until: Date | undefined } {
  if (since === undefined) throw usageError('--since is required: the window of captured pairs to judge again (30m, 24h, 7d or an ISO 8601 time)')
  const from = parseWindowTime('--since', since, now)
  if (from.getTime() >= now.getTime()) throw usageError(`--since must be in the past (got ${JSON.stringify(since)})`)
  const to = until === undefined ? undefined : parseWindowTime('--until', until, now)
  if (to && to.getTime() <= from.getTime()) throw usageError(`--until must be after --since (got ${JSON.stringify(since)} to ${JSON.stringify(until)})`)
  return { since: from, until: to }
}

function parseExamples(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RECOMPARE_EXAMPLES
  const count = Number(text)
  if (!/^\d+$/.test(text) || count > MAX_RECOMPARE_EXAMPLES)
    throw usageError(`--examples must be a whole number from 0 to ${MAX_RECOMPARE_EXAMPLES} (got ${JSON.stringify(text)})`)
  return count
}

function parseRecompareArgs(args: readonly string[], now: Date) {
  const { values, positionals } = parseCliArgs({
    args: [...args],
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      config: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean', default: false },
      examples: { type: 'string' },
    },
    allowPositionals: true,
    allowNegative: true,
    strict: true,
  })
  if (positionals.length !== 1) throw usageError(`recompare takes one slice (got ${positionals.length === 0 ? 'none' : positionals.join(' ')})`)
  const candidate = typeof values.config === 'string' ? values.config : undefined
  if (candidate !== undefined && values['dry-run'] === false)
    throw usageError(
      "--config judges under a candidate config, which is never published: a candidate's evidence must not count as a deployed one's (drop --no-dry-run, or deploy the config and recompare under it)",
    )
  return {
    slice: positionals[0] as string,
    window: parseWindow(values.since, values.until, now),
    candidate,
    dryRun: candidate !== undefined || values['dry-run'] === true,
    json: values.json,
    examples: parseExamples(values.examples),
  }
}

/**
 * `ficus recompare <slice> --since <window>`: the slice's captured pairs judged again under the
 * current rules (published as `replay` comparisons unless `--dry-run`) or under a candidate config
 * (`--config`, always a dry run), with what changed printed. Exit 0; 1 when captures exist but none
 * could be read, or replays could not all be written; 2 on a usage error.
 */
export async function recompareCommand(
  args: readonly string[],
  io: RecompareIo,
  deps: RecompareCommandDeps = { openPairs: openCapturedPairs },
): Promise<number> {
  const options = parseRecompareArgs(args, new Date())
  const settings = readSettings(io.env, { isTTY: false, cwd: io.cwd })
  const file = options.candidate === undefined ? settings.configFile : resolve(io.cwd, options.candidate)
  // As the user wrote it: the path they can paste again.
  const shown = options.candidate ?? settings.configFile
  // Validated like any config: its problems are reported as `ficus validate` reports them.
  const config = await loadConfig(file, io.cwd, { timeoutMs: settings.configTimeoutMs })
  const slice = config.slices.find((candidate) => candidate.id === options.slice)
  if (!slice)
    throw fail.unknownSlice(`${options.slice}: no such slice in ${shown} (slices: ${config.slices.map((known) => known.id).join(', ')})`, {
      details: { slice: options.slice },
    })
  const logger = createLogger({ level: settings.logLevel === 'info' ? 'warn' : settings.logLevel, destination: io.stderr })
  const opened = await openRecompareDeps(settings, config, slice, { publish: !options.dryRun, logger })
  let report: RecompareReport
  try {
    const source = deps.openPairs(settings, config, io.env, logger, slice.id, options.window.since, options.window.until)
    try {
      const context = {
        config,
        slice,
        paths: new PublishedPaths(slice.compare.keys, opened.salt),
        identity: opened.identity,
        salt: opened.salt,
        instance: settings.instance,
      }
      const sink = opened.sink?.sink
      const tally = await recompare(source.pairs, { context, publish: sink ? (record) => sink.write(record) : undefined, examples: options.examples })
      report = {
        slice: slice.id,
        since: options.window.since.toISOString(),
        until: options.window.until?.toISOString() ?? null,
        rules: {
          file: shown,
          candidate: options.candidate !== undefined,
          configVersion: config.version,
          rulesHash: slice.compare.rulesHash,
          translationVersion: slice.compare.translationVersion,
        },
        dryRun: options.dryRun,
        ...tally.findings(source.unreadable(), options.dryRun),
      }
    } finally {
      await source.close()
    }
  } finally {
    // Flushes the replays written (or keeps them in the outbox for the next run) before the exit.
    await opened.close()
  }
  return finish(report, options.json, opened.sink?.sink.stats().dropped ?? 0, io)
}

/** Prints the report; the exit status says whether anything could be read and written. */
function finish(report: RecompareReport, json: boolean, dropped: number, io: RecompareIo): number {
  const { totals } = report
  if (json) io.stdout.write(`${JSON.stringify({ ...report, dropped }, null, 2)}\n`)
  else if (totals.read === 0 && totals.unreadable === 0)
    io.stdout.write(`no captured pairs for ${report.slice} since ${report.since}${report.until === null ? '' : ` until ${report.until}`}\n`)
  else io.stdout.write(renderRecompareText(report))
  if (totals.read === 0 && totals.unreadable > 0)
    throw fail.replayUnreadable(
      `${totals.unreadable} captured pair(s) of ${report.slice} since ${report.since} could not be read and none could: is the capture key the one they were written with?`,
      { details: { slice: report.slice, unreadable: totals.unreadable } },
    )
  if (totals.unreadable > 0) io.stderr.write(`ficus: ${totals.unreadable} captured pair(s) could not be read (wrong key or damaged) and were left out\n`)
  if (dropped > 0)
    throw fail.eventSinkUnavailable(
      `${dropped} replay comparison(s) could not be written (the sink's buffer or outbox was full); run recompare again: ids are stable`,
      {
        details: { dropped },
      },
    )
  return 0
}
