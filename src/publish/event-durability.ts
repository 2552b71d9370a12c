import { FicusError } from '../errors.ts'

/**
 * `buffered`: records wait in memory (bounded by the flush interval and count) before they reach
 * the broker or the disk; `write-ahead`: every record is written to disk before `write` returns.
 */
export const DURABILITY_MODES = ['buffered', 'write-ahead'] as const
export type DurabilityMode = (typeof DURABILITY_MODES)[number]

/** Records in memory reach the disk (Kafka: the outbox) after at most this long. */
export const DEFAULT_EVENTS_FLUSH_MS = 1_000
/** Records in memory reach the disk (Kafka: the outbox) once this many wait. */
export const DEFAULT_EVENTS_FLUSH_RECORDS = 1_000

/** How the sinks bound what a crash can lose (docs/events.md, "Delivery and durability"). */
export interface EventDurability {
  readonly mode: DurabilityMode
  /** The longest a record stays in memory only; also the longest an unsynced disk write waits for fsync. */
  readonly flushMs: number
  /** The most records in memory only. */
  readonly flushRecords: number
}

export const DEFAULT_EVENT_DURABILITY: EventDurability = Object.freeze({ mode: 'buffered', flushMs: DEFAULT_EVENTS_FLUSH_MS, flushRecords: DEFAULT_EVENTS_FLUSH_RECORDS })

function invalid(name: string, message: string, value: string): FicusError {
  return new FicusError('FICUS_ERR_ENV_INVALID', `${name}: ${message} (got ${JSON.stringify(value)})`, { details: { variable: name } })
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || !Number.isSafeInteger(value)) throw invalid(name, 'must be a whole number ≥ 1', text)
  return value
}

/**
 * FICUS_EVENTS_DURABILITY (`buffered` | `write-ahead`), FICUS_EVENTS_FLUSH_MS and
 * FICUS_EVENTS_FLUSH_RECORDS; FICUS_ERR_ENV_INVALID names the variable at fault. Called by the
 * process entry with its environment.
 */
export function readEventDurability(env: NodeJS.ProcessEnv): EventDurability {
  const mode = env.FICUS_EVENTS_DURABILITY === undefined || env.FICUS_EVENTS_DURABILITY === '' ? 'buffered' : env.FICUS_EVENTS_DURABILITY
  if (!(DURABILITY_MODES as readonly string[]).includes(mode)) throw invalid('FICUS_EVENTS_DURABILITY', `must be one of ${DURABILITY_MODES.join(', ')}`, mode)
  return Object.freeze({
    mode: mode as DurabilityMode,
    flushMs: wholeNumber(env, 'FICUS_EVENTS_FLUSH_MS', DEFAULT_EVENTS_FLUSH_MS),
    flushRecords: wholeNumber(env, 'FICUS_EVENTS_FLUSH_RECORDS', DEFAULT_EVENTS_FLUSH_RECORDS),
  })
}
