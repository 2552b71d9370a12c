import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { EventSink, SinkStats, SinkStatus } from './event-sink.ts'

export const DEFAULT_JSONL_MAX_FILE_BYTES = 64 * 1024 * 1024
export const DEFAULT_JSONL_MAX_FILES = 50
export const DEFAULT_SINK_BUFFER = 10_000
/** File name of the comparisons stream's current file (the other streams use their own prefix). */
export const CURRENT_FILE = 'comparisons.jsonl'
const RETRY_DELAY_MS = 1_000

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
}

/**
 * Events as JSON lines in `<prefix>.jsonl`, rotated to `<prefix>-<time>-<n>.jsonl` when large. A background loop appends whatever is buffered; the request path only pushes to an array.
 * A failing disk keeps records buffered and retries; only a full buffer drops, and says so.
 */
export class JsonlSink<T> implements EventSink<T> {
  readonly kind = 'jsonl'
  readonly #options: Required<Omit<JsonlSinkOptions, 'logger'>> & { logger: Logger }
  #failing = false
  #buffer: string[] = []
  #written = 0
  #dropped = 0
  #droppedSinceLog = 0
  #file: FileHandle | undefined
  #fileBytes = 0
  #flushing: Promise<void> | undefined
  #retry: NodeJS.Timeout | undefined
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
    }
  }

  write(record: T): void {
    if (this.#closed || this.#buffer.length >= this.#options.maxBuffered) {
      this.#dropped += 1
      this.#droppedSinceLog += 1
      if (this.#droppedSinceLog === 1) setImmediate(() => this.#logDrops())
      return
    }
    this.#buffer.push(`${JSON.stringify(record)}\n`)
    this.#flushSoon()
  }

  stats(): SinkStats {
    return { written: this.#written, dropped: this.#dropped, buffered: this.#buffer.length }
  }

  status(): SinkStatus {
    return { kind: this.kind, state: this.#failing ? 'disconnected' : this.#buffer.length > 0 ? 'buffering' : 'connected', outboxBytes: 0 }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    await this.#flushing
    if (this.#buffer.length > 0) await this.#flush()
    if (this.#buffer.length > 0) {
      this.#dropped += this.#buffer.length
      this.#options.logger.error({ dropped: this.#buffer.length, dir: this.#options.dir }, `${this.#options.prefix} records could not be written before shutdown and are lost`)
      this.#buffer = []
    }
    this.#logDrops()
    await this.#file?.close()
    this.#file = undefined
  }

  #logDrops(): void {
    if (this.#droppedSinceLog === 0) return
    this.#options.logger.error({ dropped: this.#droppedSinceLog, total: this.#dropped, maxBuffered: this.#options.maxBuffered }, `${this.#options.prefix} buffer full: records dropped`)
    this.#droppedSinceLog = 0
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
      const text = batch.join('')
      try {
        const file = await this.#currentFile()
        await file.appendFile(text)
        this.#fileBytes += Buffer.byteLength(text)
        this.#written += batch.length
        this.#failing = false
        if (this.#fileBytes >= this.#options.maxFileBytes) await this.#rotate()
      } catch (err) {
        // Keep the records (in front of newer ones) and try again later.
        this.#failing = true
        this.#buffer = [...batch, ...this.#buffer].slice(0, this.#options.maxBuffered)
        this.#options.logger.error({ err, dir: this.#options.dir, buffered: this.#buffer.length }, `writing ${this.#options.prefix} failed; retrying`)
        await this.#file?.close().catch(() => undefined)
        this.#file = undefined
        if (!this.#closed) this.#retry = setTimeout(() => {
          this.#retry = undefined
          this.#flushSoon()
        }, RETRY_DELAY_MS)
        return
      }
    }
  }

  async #currentFile(): Promise<FileHandle> {
    if (this.#file) return this.#file
    await mkdir(this.#options.dir, { recursive: true })
    const path = join(this.#options.dir, `${this.#options.prefix}.jsonl`)
    this.#file = await open(path, 'a')
    this.#fileBytes = (await stat(path)).size
    return this.#file
  }

  async #rotate(): Promise<void> {
    await this.#file?.close()
    this.#file = undefined
    // Time then a sequence number: two rotations in one millisecond never overwrite each other.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    this.#rotations += 1
    const { dir, prefix } = this.#options
    await rename(join(dir, `${prefix}.jsonl`), join(dir, `${prefix}-${stamp}-${String(this.#rotations).padStart(6, '0')}.jsonl`))
    const rotated = (await readdir(dir)).filter((name) => name.startsWith(`${prefix}-`) && name.endsWith('.jsonl')).sort()
    for (const name of rotated.slice(0, Math.max(0, rotated.length - this.#options.maxFiles))) {
      await unlink(join(this.#options.dir, name))
      this.#options.logger.info({ file: name, maxFiles: this.#options.maxFiles }, 'deleted the oldest event file (retention)')
    }
  }
}
