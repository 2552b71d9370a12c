import { mkdirSync, renameSync, statSync } from 'node:fs'
import { readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { eventSinkUnavailable } from '../errors/errors.ts'
import { AppendTarget } from './append-target.ts'
import { DEFAULT_EVENT_DURABILITY, type EventDurability } from './event-durability.ts'
import type { EventSink, SinkStats, SinkStatus } from './event-sink.ts'
import { SequenceFile } from './sequence-file.ts'

export const DEFAULT_JSONL_MAX_FILE_BYTES = 64 * 1024 * 1024
export const DEFAULT_JSONL_MAX_FILES = 50
export const DEFAULT_SINK_BUFFER = 10_000
/** File name of the comparisons stream's current file (the other streams use their own prefix). */
export const CURRENT_FILE = 'comparisons.jsonl'
const RETRY_DELAY_MS = 1_000
/** How long a buffered record waits for others to share its write. */
const BATCH_MS = 5

export interface JsonlSinkOptions {
  /** Directory of the files, e.g. `data/comparisons`. */
  readonly dir: string
  /** File name prefix: `<prefix>.jsonl`, rotated to `<prefix>-<time>-<n>.jsonl`. Default `comparisons`. */
  readonly prefix?: string
  readonly logger: Logger
  /** Rotate the current file once it is this large. */
  readonly maxFileBytes?: number
  /** Rotated files kept; the oldest beyond this are deleted (and logged). */
  readonly maxFiles?: number
  /** Records that may wait for the disk; beyond, new records are dropped and counted. */
  readonly maxBuffered?: number
  readonly durability?: EventDurability
}

/**
 * Events as JSON lines in `<prefix>.jsonl`, rotated to `<prefix>-<time>-<n>.jsonl` when large.
 * Buffered (default): the request path only pushes to an array and a background write appends
 * whatever is buffered, at once. Write-ahead: `write` appends before it returns. Either way the
 * file is fsync'd every `flushMs`, and `<prefix>.sequence` counts what was accepted and written, so
 * a restart reports what a crash lost. A failing disk keeps records buffered and retries; only a
 * full buffer drops, and says so.
 */
export class JsonlSink<T> implements EventSink<T> {
  readonly kind = 'jsonl'
  readonly #options: Required<Omit<JsonlSinkOptions, 'logger'>> & { logger: Logger }
  readonly #file = new AppendTarget()
  #sequence: SequenceFile | undefined
  #closing: Promise<void> | undefined
  #failing = false
  #buffer: string[] = []
  #written = 0
  #dropped = 0
  #lost = 0
  #droppedSinceLog = 0
  #fileBytes = 0
  #flushing: Promise<void> | undefined
  #batch: NodeJS.Timeout | undefined
  #retry: NodeJS.Timeout | undefined
  readonly #syncTimer: NodeJS.Timeout
  #closed = false
  #rotations = 0

  constructor(options: JsonlSinkOptions) {
    this.#options = {
      dir: options.dir,
      prefix: options.prefix ?? 'comparisons',
      logger: options.logger.child({ sink: 'jsonl' }),
      maxFileBytes: options.maxFileBytes ?? DEFAULT_JSONL_MAX_FILE_BYTES,
      maxFiles: options.maxFiles ?? DEFAULT_JSONL_MAX_FILES,
      maxBuffered: options.maxBuffered ?? DEFAULT_SINK_BUFFER,
      durability: options.durability ?? DEFAULT_EVENT_DURABILITY,
    }
    const { dir, prefix, logger } = this.#options
    try {
      const opened = SequenceFile.open(join(dir, `${prefix}.sequence`), (err) =>
        logger.error({ err, dir }, 'could not write the sequence file: loss counts after a crash are unreliable'),
      )
      this.#sequence = opened.sequence
      this.#lost = opened.lost
      if (opened.unreadable) logger.warn({ dir, prefix }, 'sequence file unreadable: cannot tell whether the previous process lost events')
      if (opened.lost > 0) logger.warn({ lost: opened.lost, dir, prefix }, 'events lost: the previous process stopped with events accepted but not yet written')
    } catch (err) {
      logger.error({ err, dir }, 'could not open the sequence file: losses in a crash will not be counted')
    }
    this.#syncTimer = setInterval(() => this.#sync(), this.#options.durability.flushMs)
    this.#syncTimer.unref()
  }

  write(record: T): void {
    if (this.#closed || this.#buffer.length >= this.#options.maxBuffered) {
      this.#drop(1)
      return
    }
    const line = `${JSON.stringify(record)}\n`
    // Write-ahead: on disk before this returns, unless older records still wait (order first).
    if (this.#options.durability.mode === 'write-ahead' && this.#buffer.length === 0 && !this.#flushing && !this.#retry && this.#appendNow(line, 0)) return
    this.#sequence?.accept()
    this.#buffer.push(line)
    this.#flushLater()
  }

  async writeDurable(record: T): Promise<void> {
    if (this.#closed) throw eventSinkUnavailable('jsonl', 'the sink is closed')
    while (this.#flushing) await this.#flushing
    // Everything accepted before it goes first, in the same write.
    const before = this.#buffer.splice(0)
    if (!this.#appendNow(`${before.join('')}${JSON.stringify(record)}\n`, before.length)) {
      this.#buffer = [...before, ...this.#buffer]
      this.#scheduleRetry()
      throw eventSinkUnavailable('jsonl', `writing ${join(this.#options.dir, `${this.#options.prefix}.jsonl`)} failed`)
    }
    try {
      await this.#file.sync()
    } catch (err) {
      throw eventSinkUnavailable('jsonl', `fsync of ${this.#options.dir} failed (${(err as Error).message})`, err)
    }
  }

  stats(): SinkStats {
    return { written: this.#written, dropped: this.#dropped, buffered: this.#buffer.length, lost: this.#lost }
  }

  status(): SinkStatus {
    return { kind: this.kind, state: this.#failing ? 'disconnected' : this.#buffer.length > 0 ? 'buffering' : 'connected', outboxBytes: 0 }
  }

  close(): Promise<void> {
    // Idempotent: a second close waits for the first instead of closing the file twice (EBADF).
    this.#closing ??= this.#closeOnce()
    return this.#closing
  }

  async #closeOnce(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    this.#retry = undefined
    clearTimeout(this.#batch)
    this.#batch = undefined
    clearInterval(this.#syncTimer)
    while (this.#flushing) await this.#flushing
    if (this.#buffer.length > 0) await this.#flush()
    if (this.#buffer.length > 0) {
      this.#options.logger.error(
        { dropped: this.#buffer.length, dir: this.#options.dir },
        `${this.#options.prefix} records could not be written before shutdown and are lost`,
      )
      this.#dropped += this.#buffer.length
      this.#sequence?.settle(this.#buffer.length)
      this.#buffer = []
    }
    this.#logDrops()
    try {
      await this.#file.close()
    } catch (err) {
      this.#options.logger.error({ err, dir: this.#options.dir }, `fsync of ${this.#options.prefix} failed at shutdown`)
      this.#file.closeNow()
    }
    this.#sequence?.close()
  }

  /**
   * Appends synchronously: `text` holds `settling` buffered records and then one more taken now.
   * False when the disk failed (nothing is counted then).
   */
  #appendNow(text: string, settling: number): boolean {
    try {
      const data = Buffer.from(text, 'utf8')
      this.#openFile()
      this.#file.writeSync(data)
      this.#fileBytes += data.length
    } catch (err) {
      this.#failed(err)
      return false
    }
    this.#failing = false
    this.#sequence?.settle(settling)
    this.#sequence?.acceptSettled()
    this.#written += settling + 1
    if (this.#fileBytes >= this.#options.maxFileBytes) this.#rotate()
    return true
  }

  #drop(count: number): void {
    this.#dropped += count
    this.#droppedSinceLog += count
    if (this.#droppedSinceLog === count) setImmediate(() => this.#logDrops())
  }

  #logDrops(): void {
    if (this.#droppedSinceLog === 0) return
    this.#options.logger.error(
      { dropped: this.#droppedSinceLog, total: this.#dropped, maxBuffered: this.#options.maxBuffered },
      `${this.#options.prefix} buffer full: records dropped`,
    )
    this.#droppedSinceLog = 0
  }

  #sync(): void {
    this.#sequence?.flush()
    this.#file.sync().catch((err: unknown) => this.#options.logger.error({ err, dir: this.#options.dir }, `fsync of ${this.#options.prefix} failed`))
  }

  /**
   * Buffered records wait up to BATCH_MS for others to share their write: a write per record costs
   * a round through the thread pool each; under load a write in flight batches what comes meanwhile.
   */
  #flushLater(): void {
    if (this.#batch || this.#flushing || this.#retry) return
    this.#batch = setTimeout(() => {
      this.#batch = undefined
      this.#flushSoon()
    }, BATCH_MS)
  }

  #flushSoon(): void {
    if (this.#flushing || this.#retry) return
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined
      if (this.#buffer.length > 0 && !this.#retry && !this.#closed) this.#flushSoon()
    })
  }

  async #flush(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer
      this.#buffer = []
      try {
        const data = Buffer.from(batch.join(''), 'utf8')
        this.#openFile()
        await this.#file.write(data)
        this.#fileBytes += data.length
      } catch (err) {
        // Keep the records (in front of newer ones) and try again later; beyond the bound, drop and count.
        const kept = [...batch, ...this.#buffer]
        this.#buffer = kept.slice(0, this.#options.maxBuffered)
        if (kept.length > this.#buffer.length) {
          this.#drop(kept.length - this.#buffer.length)
          this.#sequence?.settle(kept.length - this.#buffer.length)
        }
        this.#failed(err)
        this.#scheduleRetry()
        return
      }
      this.#failing = false
      this.#written += batch.length
      this.#sequence?.settle(batch.length)
      if (this.#fileBytes >= this.#options.maxFileBytes) this.#rotate()
    }
  }

  #failed(err: unknown): void {
    if (!this.#failing)
      this.#options.logger.error({ err, dir: this.#options.dir, buffered: this.#buffer.length }, `writing ${this.#options.prefix} failed; retrying`)
    this.#failing = true
    // Reopen on the next try: the file may be gone or its descriptor broken.
    this.#file.retire()
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#flushSoon()
    }, RETRY_DELAY_MS)
  }

  #openFile(): void {
    if (this.#file.isOpen) return
    mkdirSync(this.#options.dir, { recursive: true })
    const path = join(this.#options.dir, `${this.#options.prefix}.jsonl`)
    this.#file.switchTo(path)
    this.#fileBytes = statSync(path).size
  }

  /** Renames the full file (synchronously: no append is under way) and trims old ones in the background. */
  #rotate(): void {
    this.#file.retire()
    // Time then a sequence number: two rotations in one millisecond never overwrite each other.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    this.#rotations += 1
    const { dir, prefix } = this.#options
    try {
      renameSync(join(dir, `${prefix}.jsonl`), join(dir, `${prefix}-${stamp}-${String(this.#rotations).padStart(6, '0')}.jsonl`))
    } catch (err) {
      this.#options.logger.error({ err, dir }, `rotating ${prefix} failed`)
      return
    }
    this.#trim().catch((err: unknown) => this.#options.logger.error({ err, dir }, `deleting old ${prefix} files failed`))
  }

  async #trim(): Promise<void> {
    const { dir, prefix, maxFiles } = this.#options
    const rotated = (await readdir(dir)).filter((name) => name.startsWith(`${prefix}-`) && name.endsWith('.jsonl')).sort()
    for (const name of rotated.slice(0, Math.max(0, rotated.length - maxFiles))) {
      await unlink(join(dir, name))
      this.#options.logger.info({ file: name, maxFiles }, 'deleted the oldest event file (retention)')
    }
  }
}
