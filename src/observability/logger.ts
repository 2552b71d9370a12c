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
