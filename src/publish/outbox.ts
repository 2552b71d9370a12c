import { mkdir, open, readdir, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppendTarget } from './append-target.ts'

export const DEFAULT_OUTBOX_MAX_BYTES = 256 * 1024 * 1024
export const DEFAULT_OUTBOX_SEGMENT_BYTES = 8 * 1024 * 1024
const CURSOR_FILE = 'cursor.json'
const READ_CHUNK_BYTES = 1024 * 1024

/** Where the next unacknowledged record starts: a segment number and a byte offset in it. */
export interface OutboxCursor {
  readonly segment: number
  readonly offset: number
}

export interface OutboxBatch {
  readonly lines: readonly string[]
  /** The cursor to acknowledge once every line of the batch is delivered. */
  readonly next: OutboxCursor
}

export interface OutboxOptions {
  readonly dir: string
  /** Total size of undelivered records; appends beyond it are refused (the caller counts the drop). */
  readonly maxBytes?: number
  readonly segmentBytes?: number
}

function segmentName(segment: number): string {
  return `segment-${String(segment).padStart(12, '0')}.jsonl`
}

/**
 * An on-disk queue of lines: append-only segment files plus a cursor. Lines are only given up
 * when `ack` moves the cursor past them (the caller acknowledges after the broker did), and a
 * segment file is deleted once the cursor has left it.
 *
 * `append` is synchronous: when it returns, the lines are in the file (the operating system's page
 * cache), so killing the process cannot lose them; `sync` (fsync) makes them survive a machine
 * crash too. Appends may come at any time, also while a `peek` or an `ack` is under way; those two
 * are the delivery loop's, one at a time.
 */
export class Outbox {
  readonly #dir: string
  readonly #maxBytes: number
  readonly #segmentBytes: number
  #segments: number[] = []
  #sizes = new Map<number, number>()
  #cursor: OutboxCursor = { segment: 0, offset: 0 }
  /** The segment appends go to, open in `#file`. */
  #tail: number | undefined
  readonly #file = new AppendTarget()

  constructor(options: OutboxOptions) {
    this.#dir = options.dir
    this.#maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_OUTBOX_SEGMENT_BYTES
  }

  async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
    const names = (await readdir(this.#dir)).filter((name) => /^segment-\d{12}\.jsonl$/.test(name)).sort()
    this.#segments = names.map((name) => Number(name.slice(8, 20)))
    for (const segment of this.#segments) this.#sizes.set(segment, (await stat(join(this.#dir, segmentName(segment)))).size)
    try {
      const saved = JSON.parse(await readFile(join(this.#dir, CURSOR_FILE), 'utf8')) as OutboxCursor
      if (Number.isInteger(saved.segment) && Number.isInteger(saved.offset)) this.#cursor = saved
    } catch {
      this.#cursor = { segment: this.#segments[0] ?? 0, offset: 0 }
    }
    // Segments before the cursor were delivered (a crash came before their deletion).
    for (const segment of [...this.#segments]) if (segment < this.#cursor.segment) await this.#delete(this.#forget(segment))
    if (this.#segments.length > 0 && !this.#segments.includes(this.#cursor.segment)) this.#cursor = { segment: this.#segments[0] ?? 0, offset: 0 }
    await this.#repairTail()
  }

  /** Bytes of records not yet acknowledged. */
  get bytes(): number {
    let total = 0
    for (const segment of this.#segments) total += (this.#sizes.get(segment) ?? 0) - (segment === this.#cursor.segment ? this.#cursor.offset : 0)
    return total
  }

  get isEmpty(): boolean {
    return this.bytes === 0
  }

  /**
   * Appends lines in order, as many as fit under the size bound, and returns how many were taken.
   * Synchronous: they are in the file when it returns (not yet fsync'd: see `sync`). Throws when
   * the disk fails; lines of a failed write may be partly in the file, torn.
   */
  append(lines: readonly string[]): number {
    let room = this.#maxBytes - this.bytes
    const taken: string[] = []
    for (const line of lines) {
      const size = Buffer.byteLength(line) + 1
      if (size > room) break
      taken.push(line)
      room -= size
    }
    let index = 0
    while (index < taken.length) {
      const tail = this.#tailFor()
      const chunk: string[] = []
      let chunkBytes = 0
      const limit = this.#segmentBytes - (this.#sizes.get(tail) ?? 0)
      while (index < taken.length && (chunk.length === 0 || chunkBytes + Buffer.byteLength(taken[index] as string) + 1 <= limit)) {
        chunk.push(taken[index] as string)
        chunkBytes += Buffer.byteLength(taken[index] as string) + 1
        index += 1
      }
      const text = Buffer.from(`${chunk.join('\n')}\n`, 'utf8')
      this.#file.writeSync(text)
      this.#sizes.set(tail, (this.#sizes.get(tail) ?? 0) + text.length)
    }
    return taken.length
  }

  /** Lines appended so far are on stable storage when this resolves (one fsync at a time; calls share it). */
  sync(): Promise<void> {
    return this.#file.sync()
  }

  /** Up to `max` lines from the cursor on, without consuming them. */
  async peek(max: number): Promise<OutboxBatch> {
    const lines: string[] = []
    let { segment, offset } = this.#cursor
    while (lines.length < max && this.#segments.includes(segment)) {
      const size = this.#sizes.get(segment) ?? 0
      if (offset >= size) {
        const next = this.#segments.find((candidate) => candidate > segment)
        if (next === undefined) break
        segment = next
        offset = 0
        continue
      }
      const handle = await open(join(this.#dir, segmentName(segment)), 'r')
      try {
        const length = Math.min(READ_CHUNK_BYTES, size - offset)
        const buffer = Buffer.alloc(length)
        const { bytesRead } = await handle.read(buffer, 0, length, offset)
        const text = buffer.subarray(0, bytesRead).toString('utf8')
        const end = text.lastIndexOf('\n')
        if (end === -1) {
          // A line longer than the read chunk: read it whole.
          const rest = (await readFile(join(this.#dir, segmentName(segment)))).subarray(offset)
          const cut = rest.indexOf(10)
          const line = rest.subarray(0, cut === -1 ? rest.length : cut)
          lines.push(line.toString('utf8'))
          offset += line.length + 1
          continue
        }
        for (const line of text.slice(0, end).split('\n')) {
          if (lines.length === max) break
          lines.push(line)
          offset += Buffer.byteLength(line) + 1
        }
      } finally {
        await handle.close()
      }
    }
    return { lines, next: { segment, offset } }
  }

  /** Gives up everything before `next`: deletes finished segments and persists the cursor. */
  async ack(next: OutboxCursor): Promise<void> {
    // Decided and recorded at once, before any wait: an append meanwhile goes to a segment that stays.
    const finished: number[] = []
    for (const segment of [...this.#segments]) {
      const done = segment < next.segment || (segment === next.segment && next.offset >= (this.#sizes.get(segment) ?? 0) && segment !== this.#segments.at(-1))
      if (done) finished.push(this.#forget(segment))
    }
    this.#cursor = next
    // The last segment, fully read: start afresh so the directory does not keep an empty file.
    const last = this.#segments.at(-1)
    if (last !== undefined && this.#segments.length === 1 && next.segment === last && next.offset >= (this.#sizes.get(last) ?? 0)) {
      finished.push(this.#forget(last))
      this.#cursor = { segment: last + 1, offset: 0 }
    }
    const cursor = this.#cursor
    for (const segment of finished) await this.#delete(segment)
    const temporary = join(this.#dir, `${CURSOR_FILE}.tmp`)
    await writeFile(temporary, JSON.stringify(cursor))
    await rename(temporary, join(this.#dir, CURSOR_FILE))
  }

  /** Syncs and closes the open files. */
  async close(): Promise<void> {
    this.#tail = undefined
    await this.#file.close()
  }

  /** The segment appends go to now, opened; a new one when the last is full or gone. */
  #tailFor(): number {
    let segment = this.#segments.at(-1)
    if (segment === undefined || (this.#sizes.get(segment) ?? 0) >= this.#segmentBytes) {
      segment = (segment ?? this.#cursor.segment - 1) + 1
      this.#segments.push(segment)
      this.#sizes.set(segment, 0)
      if (this.#segments.length === 1) this.#cursor = { segment, offset: 0 }
    }
    if (this.#tail !== segment || !this.#file.isOpen) {
      this.#file.switchTo(join(this.#dir, segmentName(segment)))
      this.#tail = segment
    }
    return segment
  }

  /** Drops a segment from the books (appends no longer see it); the caller deletes its file. */
  #forget(segment: number): number {
    if (this.#tail === segment) {
      this.#file.retire()
      this.#tail = undefined
    }
    this.#segments = this.#segments.filter((candidate) => candidate !== segment)
    this.#sizes.delete(segment)
    return segment
  }

  async #delete(segment: number): Promise<void> {
    try {
      await unlink(join(this.#dir, segmentName(segment)))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  /** A crash in the middle of a write can leave the last line torn: cut it, so appends start on a line of their own. */
  async #repairTail(): Promise<void> {
    const last = this.#segments.at(-1)
    const size = last === undefined ? 0 : (this.#sizes.get(last) ?? 0)
    if (last === undefined || size === 0) return
    const file = join(this.#dir, segmentName(last))
    const keep = await wholeLinesLength(file, size)
    if (keep === size) return
    await truncate(file, keep)
    this.#sizes.set(last, keep)
    if (this.#cursor.segment === last && this.#cursor.offset > keep) this.#cursor = { segment: last, offset: keep }
  }
}

/** The length of a file's whole lines: up to its last newline (looked for in its last chunk). */
async function wholeLinesLength(file: string, size: number): Promise<number> {
  const handle = await open(file, 'r')
  try {
    const length = Math.min(size, READ_CHUNK_BYTES)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    if (buffer[length - 1] === 10) return size
    const cut = buffer.lastIndexOf(10)
    if (cut !== -1) return size - length + cut + 1
    // No newline at all: one torn line. Longer than a chunk: leave it (the reader drops it).
    return length === size ? 0 : size
  } finally {
    await handle.close()
  }
}
