/** Counters of a sink since start. */
export interface SinkStats {
  /** Records handed to the destination: file written, or broker acknowledged. */
  readonly written: number
  /** Records given up on (buffer or outbox full), counted and logged — never silently. */
  readonly dropped: number
  /** Records accepted and not yet written, in memory. */
  readonly buffered: number
  /**
   * Records an earlier process accepted and never wrote, delivered or counted as dropped: lost
   * when it crashed (the gap in its sequence, found at start and logged once).
   */
  readonly lost: number
}

/** What a sink is doing now, for /readyz, /admin/slices and metrics. */
export interface SinkStatus {
  readonly kind: string
  /**
   * `connected`: writing as records come; `buffering`: records wait in memory for a slow
   * destination; `spilling`: the destination is unreachable or behind, records go to the on-disk
   * outbox; `disconnected`: the destination is unreachable and nothing waits.
   */
  readonly state: 'connected' | 'buffering' | 'spilling' | 'disconnected'
  readonly outboxBytes: number
}

/**
 * Where events go. `write` never blocks and never throws: the record is taken into a bounded
 * buffer or dropped and counted. Implementations: the JSONL sink (embedded default), Kafka.
 */
export interface EventSink<T> {
  readonly kind: string
  write(record: T): void
  /**
   * Writes a record that must not be lost once the caller acknowledges what it records (authority
   * changes). Resolves only once it is on disk and fsync'd — Kafka: in the outbox, behind every
   * record accepted before it, delivered from there and removed only after the broker
   * acknowledged it; JSONL: in its file. Rejects with FICUS_ERR_EVENT_SINK_UNAVAILABLE when it
   * cannot be (outbox full, disk error, sink closed); then nothing may be acknowledged.
   */
  writeDurable(record: T): Promise<void>
  stats(): SinkStats
  status(): SinkStatus
  /** Writes out everything buffered (or keeps it on disk for the next start), then releases the destination. */
  close(): Promise<void>
}

/**
 * The sink with `observe` called on every record written through it: before a buffered write, and
 * once a durable write is on disk (never for one that failed).
 */
export function observeSink<T>(sink: EventSink<T>, observe: (record: T) => void): EventSink<T> {
  return {
    kind: sink.kind,
    write: (record) => {
      observe(record)
      sink.write(record)
    },
    writeDurable: async (record) => {
      await sink.writeDurable(record)
      observe(record)
    },
    stats: () => sink.stats(),
    status: () => sink.status(),
    close: () => sink.close(),
  }
}
