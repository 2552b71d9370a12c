import { readFileSync } from 'node:fs'
import type { parseArgs, ParseArgsConfig } from 'node:util'
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load.ts'
import type { GatewayConfig } from './config/types.ts'
import { flipCommand, historyCommand, killSwitchCommand, statusCommand } from './cli-admin-commands.ts'
import { parseCliArgs, usageError } from './cli-args.ts'
import { isFicusError } from './errors.ts'
import { printable } from './printable-text.ts'
import { reportCommand } from './cli-report-command.ts'
import { reporterCommand } from './cli-reporter-command.ts'
import { readSettings, startGateway } from './main.ts'

const USAGE = `Usage: ficus <command> [options]

Commands:
  start [--config FILE]                          run the gateway (FILE defaults to $FICUS_CONFIG or ${DEFAULT_CONFIG_FILE})
  validate [FILE]                                check a routes config and print its route table
  flip <slice> <legacy|modern|N%> --reason "…"   change who answers a slice [--expect-version N]
                                                 [--force: past a "not ready" verdict, recorded as forced]
  kill-switch [slice...] --reason "…"            return every slice (or those named) to legacy
  status                                         the live authority of every slice
  history [slice] [--limit N]                    the audit trail of authority changes, newest first
  report [options]                               shadow-run report per slice, with readiness verdicts:
      --source kafka|jsonl  --data-dir DIR  --topic T  --since 24h | --from ISO [--to ISO]
      --slice ID  --format text|md|json|html  --out FILE  --require-ready SLICE  --config FILE
  reporter [--config FILE]                       consume comparisons from Kafka into rolling per-slice
                                                 aggregates (Redis, else memory); serves reports on REPORTER_PORT
  help                                           show this text
  version                                        print the version

flip, kill-switch, status and history talk to a running gateway's admin API: --admin-url or
FICUS_ADMIN_URL (default http://127.0.0.1:9090), token from FICUS_ADMIN_TOKEN, actor recorded in
the audit trail from FICUS_ACTOR (default user@host); --json prints the API's answer.

Environment of start: PORT (8080), HOST (0.0.0.0), ADMIN_PORT (9090), ADMIN_HOST, LOG_LEVEL (info),
FICUS_CONFIG, FICUS_DATA_DIR (./data), FICUS_INSTANCE_ID, FICUS_ADMIN_TOKEN, REDIS_URL,
FICUS_REDIS_PREFIX. See README.md for the full reference.
`

export interface CliIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean }
  readonly stderr: NodeJS.WriteStream & { isTTY?: boolean }
  readonly cwd: string
}

const defaultIo: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }


/** Runs one `ficus` command; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv
  try {
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
      case 'report':
        return await reportCommand(rest, io)
      case 'reporter':
        return await reporterCommand(rest, io)
      case 'version':
      case '--version':
        io.stdout.write(`${packageVersion()}\n`)
        return 0
      case undefined:
      case 'help':
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
        io.stderr.write(`ficus: ${err.code}: ${message}\n\n${USAGE}`)
        return 2
      }
      // One line: messages never contain a newline except config validation's list of problems.
      io.stderr.write(`ficus: ${err.code}: ${message}\n`)
      return 1
    }
    throw err
  }
}

function parse(args: readonly string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  return parseCliArgs({ args: [...args], options, allowPositionals: true, strict: true })
}

async function start(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' } })
  if (positionals.length > 0) throw usageError(`start takes no positional arguments (got ${positionals.join(' ')})`)
  const env = typeof values.config === 'string' ? { ...io.env, FICUS_CONFIG: values.config } : io.env
  const settings = readSettings(env, { isTTY: io.stdout.isTTY === true, cwd: io.cwd })
  const running = await startGateway(settings)
  await new Promise<void>((resolveStopped) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
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
    process.once('SIGINT', stop)
  })
  return 0
}

async function validate(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parse(args, {})
  if (positionals.length > 1) throw usageError('validate takes at most one path')
  const file = positionals[0] ?? io.env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE
  const config = await loadConfig(file, io.cwd)
  io.stdout.write(describeConfig(file, config))
  return 0
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
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
