import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[]
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface LoggerOptions {
  readonly level: LogLevel
  /** Human-readable lines (pino-pretty) instead of JSON: for a terminal. */
  readonly pretty?: boolean
  /** Where JSON lines go (stdout by default); tests pass a stream to read them. */
  readonly destination?: DestinationStream
}

/**
 * The process logger. Ficus never logs bodies or header values; the redaction below is a second
 * line of defence should an error object carry request headers.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { pid: process.pid },
    redact: {
      paths: ['headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie', 'headers["proxy-authorization"]'],
      censor: '[redacted]',
    },
  }
  if (options.pretty === true) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } })
  }
  return options.destination ? pino(base, options.destination) : pino(base)
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger, made only when the request logs something at an enabled level. Fastify makes
 * a child logger per request, and pino redacts a child's bindings as it makes it (the redaction
 * paths parsed again each time): most requests never log at `warn`, the default, so that work was
 * thrown away on every one of them.
 */
export class LazyChildLogger {
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  #child: Logger | undefined

  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level)
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args)
  }

  error(...args: unknown[]): void {
    this.#log('error', args)
  }

  warn(...args: unknown[]): void {
    this.#log('warn', args)
  }

  info(...args: unknown[]): void {
    this.#log('info', args)
  }

  debug(...args: unknown[]): void {
    this.#log('debug', args)
  }

  trace(...args: unknown[]): void {
    this.#log('trace', args)
  }

  silent(): void {
    // nothing, as pino's
  }

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.#real().child(bindings, options)
  }

  #log(level: LogMethod, args: unknown[]): void {
    const logger = this.#child ?? this.#parent
    if (!logger.isLevelEnabled(level)) return
    const log: (...values: unknown[]) => void = this.#real()[level]
    log.apply(this.#child, args)
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }
}
