import { readFileSync } from 'node:fs'
import type { parseArgs, ParseArgsConfig } from 'node:util'
import { loadConfig } from '../config/load.ts'
import type { GatewayConfig } from '../config/types.ts'
import { flipCommand, historyCommand, killSwitchCommand, noiseCommand, statusCommand } from './admin-commands.ts'
import { idsCommand } from './ids-command.ts'
import { triageCommand } from './triage-command.ts'
import { parseCliArgs, usageError } from './args.ts'
import { isFicusError } from '../errors/errors.ts'
import { printable } from '../text/printable-text.ts'
import { reportCommand } from './report-command.ts'
import { reporterCommand } from './reporter-command.ts'
import { recompareCommand } from './recompare-command.ts'
import { reconcileCommand } from './reconcile-command.ts'
import { COMMAND_USAGE, isCommand, USAGE } from './usage.ts'
import { tuneHeapForRequests } from '../app/gc-tuning.ts'
import { startGateway, type RunningGateway } from '../app/start-gateway.ts'
import { runPrimary } from '../app/cluster-primary.ts'
import { openWorkerLink } from '../app/worker-link.ts'
import { parseWorkers, resolveWorkers, WORKERS_MUST_BE } from '../config/workers.ts'
import { createLogger } from '../observability/logger.ts'
import { availableParallelism } from 'node:os'
import { configFileSetting, readConfigTimeout, readSettings } from '../app/settings.ts'

export interface CliIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean }
  readonly stderr: NodeJS.WriteStream & { isTTY?: boolean }
  readonly cwd: string
  /** Standard input (`ficus reconcile --keys -`); the process's when absent. */
  readonly stdin?: NodeJS.ReadableStream
  /** Stops a long-running command as SIGINT does (`ficus reconcile`). */
  readonly signal?: AbortSignal
}

const defaultIo: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }

/** Runs one `ficus` command; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (isCommand(command) && wantsHelp(rest)) {
      io.stdout.write(COMMAND_USAGE[command])
      return 0
    }
    switch (command) {
      case 'start':
        return await start(rest, io)
      case 'validate':
        return await validate(rest, io)
      case 'flip':
        return await flipCommand(rest, io)
      case 'kill-switch':
        return await killSwitchCommand(rest, io)
      case 'status':
        return await statusCommand(rest, io)
      case 'history':
        return await historyCommand(rest, io)
      case 'noise':
        return await noiseCommand(rest, io)
      case 'triage':
        return await triageCommand(rest, io)
      case 'ids':
        return await idsCommand(rest, io)
      case 'report':
        return await reportCommand(rest, io)
      case 'reporter':
        return await reporterCommand(rest, io)
      case 'recompare':
        return await recompareCommand(rest, io)
      case 'reconcile':
        return await reconcileCommand(rest, io)
      case 'version':
      case '--version':
        io.stdout.write(`${packageVersion()}\n`)
        return 0
      case 'help':
        return help(rest, io)
      case undefined:
      case '--help':
      case '-h':
        io.stdout.write(USAGE)
        return 0
      default:
        throw usageError(`unknown command ${JSON.stringify(command)}`)
    }
  } catch (err) {
    if (isFicusError(err)) {
      // Messages quote arguments, config values and the admin API's answers: made printable, line by line.
      const message = err.message.split('\n').map(printable).join('\n')
      if (err.code === 'FICUS_ERR_CLI_USAGE') {
        io.stderr.write(`ficus: ${err.code}: ${message}\n\n${isCommand(command) ? COMMAND_USAGE[command] : USAGE}`)
        return 2
      }
      // One line: messages never contain a newline except config validation's list of problems.
      io.stderr.write(`ficus: ${err.code}: ${message}\n`)
      return 1
    }
    if (command === 'start' || command === 'validate') {
      // A failure at start is one line too, never a stack trace (startGateway logged the stack).
      const message = (err instanceof Error ? err.message : String(err)).split('\n').map(printable).join(' ')
      io.stderr.write(`ficus: FICUS_ERR_INTERNAL: ${command} failed: ${message}\n`)
      return 1
    }
    throw err
  }
}

/** `--help` or `-h` among a command's arguments (before a `--` that ends the options). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')
}

function help(args: readonly string[], io: CliIo): number {
  if (args.length > 1) throw usageError('help takes at most one command')
  const [topic] = args
  if (topic === undefined) io.stdout.write(USAGE)
  else if (isCommand(topic)) io.stdout.write(COMMAND_USAGE[topic])
  else throw usageError(`unknown command ${JSON.stringify(topic)}`)
  return 0
}

function parse(args: readonly string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  return parseCliArgs({ args: [...args], options, allowPositionals: true, strict: true })
}

async function start(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, workers: { type: 'string' } })
  if (positionals.length > 0) throw usageError(`start takes no positional arguments (got ${positionals.join(' ')})`)
  const asked = typeof values.workers === 'string' ? parseWorkers(values.workers) : undefined
  if (typeof values.workers === 'string' && asked === undefined)
    throw usageError(`--workers must be ${WORKERS_MUST_BE} (got ${JSON.stringify(values.workers)})`)
  const env = typeof values.config === 'string' ? { ...io.env, FICUS_CONFIG: values.config } : io.env
  const settings = readSettings(env, { isTTY: io.stdout.isTTY === true, cwd: io.cwd })
  // Before the gateway builds anything; each worker is a `ficus start` of its own and sets it too.
  if (!settings.v8Pretenuring) tuneHeapForRequests()
  // A worker forked by the primary below: one whole gateway, its channel to the primary opened.
  if (settings.workerRank !== undefined) return await serve(await startGateway(settings, { link: openWorkerLink(settings.workerRank) }), true)
  const logger = createLogger({ level: settings.logLevel, pretty: settings.prettyLogs })
  const config = await loadConfig(settings.configFile, undefined, { timeoutMs: settings.configTimeoutMs })
  const workers = resolveWorkers(asked ?? config.workers, availableParallelism())
  if (workers > 1) return await runPrimary({ settings, config, workers, logger })
  return await serve(await startGateway(settings, { logger, config }), false)
}

/** Serves until SIGTERM or SIGINT (a worker: until the primary says stop), then drains; 0 once stopped. */
async function serve(running: RunningGateway, worker: boolean): Promise<number> {
  // A promise someone's code (a config's, say) let reject after the start is logged on one line;
  // the gateway in front of the systems of record keeps serving.
  process.on('unhandledRejection', (reason: unknown) => running.logger.error({ err: reason }, 'unhandled promise rejection; the gateway keeps running'))
  await new Promise<void>((resolveStopped) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals | 'primary'): void => {
      if (stopping) {
        if (signal === 'primary') return
        running.logger.warn({ signal }, 'second signal: exiting at once')
        process.exit(130)
      }
      stopping = true
      running.logger.info({ signal }, 'shutting down')
      running.close().then(resolveStopped, (err: unknown) => {
        running.logger.error({ err }, 'shutdown failed')
        resolveStopped()
      })
    }
    process.once('SIGTERM', stop)
    if (!worker) process.once('SIGINT', stop)
    else {
      // Ctrl-C reaches every process of the terminal's group: a worker leaves it to the primary, which drains them all.
      process.on('SIGINT', () => undefined)
      process.on('message', (message: unknown) => {
        if (typeof message === 'object' && message !== null && (message as { ficus?: unknown }).ficus === 'shutdown') stop('primary')
      })
      // A primary that is gone (killed) leaves no one to say stop: drain as on SIGTERM.
      process.once('disconnect', () => stop('primary'))
    }
  })
  return 0
}

async function validate(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false } })
  if (positionals.length > 1) throw usageError('validate takes at most one path')
  const file = positionals[0] ?? configFileSetting(io.env)
  const load = { timeoutMs: readConfigTimeout(io.env) }
  if (values.json !== true) {
    io.stdout.write(describeConfig(file, await loadConfig(file, io.cwd, load)))
    return 0
  }
  try {
    io.stdout.write(`${JSON.stringify(configSummary(file, await loadConfig(file, io.cwd, load)), null, 2)}\n`)
    return 0
  } catch (err) {
    if (!isFicusError(err) || !err.code.startsWith('FICUS_ERR_CONFIG_')) throw err
    // For automation the verdict goes to stdout as JSON too; the problems come from the error's details.
    const problems = Array.isArray(err.details.issues) ? err.details.issues : []
    io.stdout.write(`${JSON.stringify({ valid: false, file, error: { code: err.code, message: err.message }, problems }, null, 2)}\n`)
    return 1
  }
}

/** What `ficus validate --json` prints for a valid config. */
export function configSummary(file: string, config: GatewayConfig): Record<string, unknown> {
  return {
    valid: true,
    file,
    version: config.version,
    upstreams: [...config.upstreams.values()].map((upstream) => ({ name: upstream.name, url: `${upstream.origin}${upstream.basePath}` })),
    slices: config.slices.map((slice) => ({
      id: slice.id,
      description: slice.description,
      authority: slice.authority,
      shadowed: slice.shadow !== null,
      routes: slice.routes.map((route) => ({
        method: route.method,
        path: route.path.source,
        legacy: { upstream: slice.sides.legacy.upstream, path: route.rewrite.legacy.source },
        modern: { upstream: slice.sides.modern.upstream, path: route.rewrite.modern.source },
      })),
    })),
    fallthrough: { side: config.fallthrough, upstream: config.sides[config.fallthrough] },
  }
}

/** The summary `ficus validate` prints: one line per route and where each side sends it. */
export function describeConfig(file: string, config: GatewayConfig): string {
  const routes = config.slices.reduce((sum, slice) => sum + slice.routes.length, 0)
  const lines = [
    `${file}: valid — ${config.slices.length} slice(s), ${routes} route(s), ${config.upstreams.size} upstream(s); config version ${config.version}`,
    '',
  ]
  for (const slice of config.slices) {
    lines.push(`${slice.id}  (initial authority: ${slice.authority})  ${slice.description}`)
    for (const route of slice.routes) {
      lines.push(`  ${route.method.padEnd(7)} ${route.path.source}`)
      for (const side of ['legacy', 'modern'] as const) {
        lines.push(`    ${side.padEnd(6)} → ${slice.sides[side].upstream} ${route.rewrite[side].source}`)
      }
    }
  }
  lines.push('', `unmatched requests → ${config.fallthrough} (${config.sides[config.fallthrough]})`, '')
  // Descriptions are free text: a control character in the config must not reach the terminal.
  return lines.map(printable).join('\n')
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
