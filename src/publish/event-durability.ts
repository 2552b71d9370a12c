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

export const DEFAULT_EVENT_DURABILITY: EventDurability = Object.freeze({
  mode: 'buffered',
  flushMs: DEFAULT_EVENTS_FLUSH_MS,
  flushRecords: DEFAULT_EVENTS_FLUSH_RECORDS,
})
