import type { Comparison } from '../compare/comparison.ts'

export interface SinkStats {
  /** Records handed to the destination (file written, broker acknowledged). */
  readonly written: number
  /** Records given up on (buffer full), counted and logged — never silently. */
  readonly dropped: number
  /** Records accepted and not yet written. */
  readonly buffered: number
}

/**
 * Where comparisons go. `write` never blocks and never throws: the record is taken into a bounded
 * buffer or dropped and counted. Implementations: the JSONL sink (embedded default), Kafka.
 */
export interface ComparisonSink {
  readonly kind: string
  write(record: Comparison): void
  stats(): SinkStats
  /** Writes out everything buffered, then releases the destination. */
  close(): Promise<void>
}
