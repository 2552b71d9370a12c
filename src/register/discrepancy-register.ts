import type { Comparison } from '../compare/comparison.ts'
import { observeSink, type EventSink } from '../publish/event-sink.ts'
import type { DiscrepancySignature, RegisteredFamily } from './discrepancy-signature.ts'

/** Request ids kept per signature, newest first. */
export const MAX_EXAMPLES = 5
/** Rules hashes kept per signature, the most recently seen. */
export const MAX_RULES_HASHES = 5
/** Signatures a register keeps by default; past it, the one seen least recently makes room. */
export const DEFAULT_MAX_SIGNATURES = 10_000

/** One signature of the register with what has been seen of it. */
export interface DiscrepancyEntry extends DiscrepancySignature {
  /** Comparisons with this signature. */
  readonly count: number
  /** ISO times of the first and the latest comparison (by their request time). */
  readonly firstSeen: string
  readonly lastSeen: string
  /** Distinct entities affected (by the slice's entityKey, hashed), estimated: exact while small, within a few per cent beyond. */
  readonly entities: number
  /** Request ids of the latest comparisons, newest first (at most MAX_EXAMPLES). */
  readonly examples: readonly string[]
  /** Rules hashes (translation and comparison rules) under which it was seen, newest last (at most 5). */
  readonly rulesHashes: readonly string[]
  /** The same, each with the latest request time it was seen under (ISO). */
  readonly rulesSeen: readonly { readonly rulesHash: string; readonly lastSeen: string }[]
}

export interface DiscrepancyQuery {
  readonly slice?: string
  readonly family?: RegisteredFamily
  readonly limit: number
}

export interface RegisterStats {
  readonly signatures: number
  /** Comparisons recorded since start. */
  readonly recorded: number
  /** Signatures dropped to keep the register within its bound since start. */
  readonly evicted: number
}

/**
 * The discrepancy register: every comparison that differs, grouped by its signature. Fed live from
 * the comparison stream; `record` never blocks or throws, and the register stays within its bound.
 */
export interface DiscrepancyRegister {
  readonly kind: 'file' | 'redis'
  open(): Promise<void>
  record(comparison: Comparison): void
  /** Signatures newest first (by last seen), filtered. */
  list(query: DiscrepancyQuery): Promise<DiscrepancyEntry[]>
  get(id: string): Promise<DiscrepancyEntry | undefined>
  stats(): RegisterStats
  close(): Promise<void>
}

/** The comparison sink with the register fed from it: every record written is also recorded. */
export function feedRegister(register: DiscrepancyRegister, sink: EventSink<Comparison>): EventSink<Comparison> {
  return observeSink(sink, (record) => register.record(record))
}
