import type { Logger } from 'pino'
import { sealPair } from './capture-envelope.ts'
import type { CapturedPair } from './captured-pair.ts'
import type { CaptureKeys } from './capture-keys.ts'

/** What became of a capture: `ficus_captures_total{result}`. */
export const CAPTURE_RESULTS = ['written', 'dropped-queue', 'dropped-size', 'error'] as const
export type CaptureResult = (typeof CAPTURE_RESULTS)[number]

export interface CaptureMetrics {
  recordCapture(slice: string, result: CaptureResult, count?: number): void
  /** Captures deleted because their retention ended or the slice's size bound needed room. */
  recordCapturePurged(slice: string, count: number): void
}

/** Where the parallel run hands the pairs it captures (ShadowDeps.captures). */
export interface PairCapture {
  /** Encrypts and queues a pair; synchronous, never throws, never waits for I/O (a full queue drops and counts). */
  write(pair: CapturedPair): void
  /** Writes what is queued (bounded by the store's own deadlines), then stops. */
  close(): Promise<void>
}

/** One encrypted capture waiting to be stored: its envelope as one line of JSON. */
export interface QueuedCapture {
  readonly slice: string
  /** Capture time, ms since the epoch. */
  readonly capturedAtMs: number
  readonly line: string
  readonly bytes: number
}

export const DEFAULT_CAPTURE_QUEUE = { records: 1_000, bytes: 64 * 1024 * 1024 } as const
/** Captures handed to the store at once. */
const BATCH_RECORDS = 200

/**
 * The bounded queue between the parallel run and a capture store: pairs are encrypted at once (so
 * no plaintext waits in memory), queued within a count and a byte bound, and delivered in batches
 * by one background loop. Whatever does not fit is dropped and counted, never waited for.
 */
export class CaptureQueue {
  readonly #keys: CaptureKeys | undefined
  readonly #limits: { readonly records: number; readonly bytes: number }
  readonly #deliver: (batch: readonly QueuedCapture[]) => Promise<void>
  readonly #metrics: CaptureMetrics | undefined
  readonly #log: Logger
  readonly #queue: QueuedCapture[] = []
  #bytes = 0
  #draining: Promise<void> | undefined
  #closed = false

  constructor(options: {
    /** None for a store that only purges what an earlier config captured: nothing is written. */
    keys: CaptureKeys | undefined
    limits?: { readonly records: number; readonly bytes: number }
    deliver: (batch: readonly QueuedCapture[]) => Promise<void>
    metrics: CaptureMetrics | undefined
    logger: Logger
  }) {
    this.#keys = options.keys
    this.#limits = options.limits ?? DEFAULT_CAPTURE_QUEUE
    this.#deliver = options.deliver
    this.#metrics = options.metrics
    this.#log = options.logger
  }

  get depth(): { records: number; bytes: number } {
    return { records: this.#queue.length, bytes: this.#bytes }
  }

  write(pair: CapturedPair): void {
    const slice = typeof pair.slice === 'string' ? pair.slice : '(unknown)'
    try {
      if (this.#closed || this.#queue.length >= this.#limits.records) {
        this.#metrics?.recordCapture(slice, 'dropped-queue')
        return
      }
      if (!this.#keys) {
        this.#metrics?.recordCapture(slice, 'error')
        return
      }
      const line = `${JSON.stringify(sealPair(pair, this.#keys))}\n`
      const bytes = Buffer.byteLength(line)
      if (this.#bytes + bytes > this.#limits.bytes) {
        this.#metrics?.recordCapture(slice, 'dropped-queue')
        return
      }
      this.#queue.push({ slice, capturedAtMs: Date.parse(pair.capturedAt), line, bytes })
      this.#bytes += bytes
      this.#draining ??= this.#drain()
    } catch (err) {
      // Only the error's kind: its message could quote what was being encrypted.
      this.#log.warn({ slice, error: (err as Error).name }, 'capture could not be encrypted; dropped')
      this.#metrics?.recordCapture(slice, 'error')
    }
  }

  /** Resolves once everything queued so far was handed to the store. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining
  }

  /** Refuses further writes and flushes. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  async #drain(): Promise<void> {
    // Off the caller's turn: write() returns before any I/O starts.
    await Promise.resolve()
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, BATCH_RECORDS)
        this.#bytes -= batch.reduce((sum, item) => sum + item.bytes, 0)
        try {
          await this.#deliver(batch)
        } catch (err) {
          this.#log.warn({ error: (err as NodeJS.ErrnoException).code ?? (err as Error).name, records: batch.length }, 'captures could not be stored; dropped')
          for (const item of batch) this.#metrics?.recordCapture(item.slice, 'error')
        }
      }
    } finally {
      this.#draining = undefined
    }
  }
}
