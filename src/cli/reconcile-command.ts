import { configFileSetting, readConfigTimeout, readSettings } from '../app/settings.ts'
import { startReconcile } from '../app/start-reconcile.ts'
import { loadConfig } from '../config/load.ts'
import { runProgress } from '../reconcile/run-progress.ts'
import { brokenThresholds, renderRunSummary, type RunSummary } from '../reconcile/run-summary.ts'
import { printable } from '../text/printable-text.ts'
import { parseCliArgs, usageError } from './args.ts'

/** Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT), as a shell reports an interrupted command. */
export const STOPPED_EXIT_CODE = 130
/** Exit code of a run that broke a threshold: a scheduler sees the run failed. */
export const THRESHOLD_EXIT_CODE = 1

const OPTIONS = {
  keys: { type: 'string' },
  'key-field': { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  route: { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  'min-agreement': { type: 'string' },
  'max-error-percent': { type: 'string' },
  json: { type: 'boolean', default: false },
  config: { type: 'string' },
} as const

export interface ReconcileIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean }
  readonly cwd: string
  /** Standard input, for `--keys -` (default: the process's). */
  readonly stdin?: NodeJS.ReadableStream
  /** Stops the run as SIGINT does (tests, embedding); the process's signals stop it too. */
  readonly signal?: AbortSignal
}

/** A number flag within bounds, or a usage error naming it. */
function numberFlag(name: string, text: string | undefined, check: (value: number) => boolean, expected: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw usageError(`--${name} must be ${expected} (got ${JSON.stringify(text)})`)
  return value
}

/**
 * `ficus reconcile <slice>`: a reconciliation run (src/app/start-reconcile.ts) with its progress on
 * standard error, its summary on standard output, stopped by SIGINT/SIGTERM with a checkpoint.
 */
export async function reconcileCommand(args: readonly string[], io: ReconcileIo): Promise<number> {
  const { values, positionals } = parseCliArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true })
  const [slice, ...extra] = positionals
  if (slice === undefined || extra.length > 0) throw usageError('reconcile takes one slice: ficus reconcile <slice> --keys FILE|-')
  if (values.keys === undefined) throw usageError('--keys FILE (or - for standard input) is required: the keys to ask about')
  if (values.resume !== undefined && values['run-id'] !== undefined) throw usageError('give --resume RUN_ID or --run-id ID, not both')
  const ratePerSecond = numberFlag('rate', values.rate, (value) => value > 0 && value <= 10_000, 'a number of keys a second above 0, at most 10000')
  const concurrency = numberFlag(
    'concurrency',
    values.concurrency,
    (value) => Number.isInteger(value) && value >= 1 && value <= 256,
    'a whole number from 1 to 256',
  )
  const percent = (value: number): boolean => value >= 0 && value <= 100
  const minAgreementPercent = numberFlag('min-agreement', values['min-agreement'], percent, 'a percentage from 0 to 100')
  const maxErrorPercent = numberFlag('max-error-percent', values['max-error-percent'], percent, 'a percentage from 0 to 100')
  const env = values.config === undefined ? io.env : { ...io.env, FICUS_CONFIG: values.config }
  const settings = readSettings(env, { isTTY: false, cwd: io.cwd })
  const config = await loadConfig(configFileSetting(env), io.cwd, { timeoutMs: readConfigTimeout(env) })

  const controller = new AbortController()
  const stop = (): void => controller.abort()
  io.signal?.addEventListener('abort', stop, { once: true })
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const progress = runProgress(io.stderr)
  let started = false
  try {
    const { summary, stopped, gaveUp } = await startReconcile(settings, config, {
      slice,
      keys: { path: values.keys, keyField: values['key-field'], cwd: io.cwd, stdin: io.stdin ?? process.stdin },
      runId: values['run-id'],
      resume: values.resume,
      route: values.route,
      ratePerSecond,
      concurrency,
      minAgreementPercent,
      maxErrorPercent,
      signal: controller.signal,
      onStart: (start) => {
        started = true
        io.stderr.write(
          printable(
            `reconciliation run ${start.runId}${start.resumed ? ' (resumed)' : ''}: ${slice} ${start.route}, ${start.remaining} of ${start.total} keys to ask${start.duplicates > 0 ? ` (${start.duplicates} duplicate keys asked once)` : ''}`,
          ) + '\n',
        )
      },
      onProgress: progress.update,
    })
    progress.end()
    io.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : renderRunSummary(summary))
    if (stopped) {
      const source = `${values.keys}${values['key-field'] === undefined ? '' : ` --key-field ${values['key-field']}`}`
      const resume = `resume with: ficus reconcile ${slice} --resume ${summary.runId} --keys ${source}`
      // Given up (the sides stopped answering): a failure the scheduler must see, not a stop it asked for.
      io.stderr.write(printable(gaveUp === undefined ? `stopped; ${resume}` : `ficus: gave up: ${gaveUp}; ${resume}`) + '\n')
      return gaveUp === undefined ? STOPPED_EXIT_CODE : 1
    }
    return verdict(summary, io)
  } catch (err) {
    // Stopped while it still read its keys (standard input a producer keeps open) or prepared: no key was asked.
    if (!controller.signal.aborted || started) throw err
    io.stderr.write('stopped before any key was asked\n')
    return STOPPED_EXIT_CODE
  } finally {
    progress.end()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    io.signal?.removeEventListener('abort', stop)
  }
}

function verdict(summary: RunSummary, io: ReconcileIo): number {
  if (summary.passed) return 0
  io.stderr.write(printable(`ficus: run ${summary.runId} broke its thresholds: ${brokenThresholds(summary).join('; ')}`) + '\n')
  return THRESHOLD_EXIT_CODE
}
