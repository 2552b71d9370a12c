import { createReadStream } from 'node:fs'
import { appendFile, chmod, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { DEFAULT_CAPTURE_RETENTION_HOURS } from '../config/defaults.ts'
import type { CaptureConfig } from '../config/types.ts'
import { parseEnvelope } from './capture-envelope.ts'
import type { CapturedPair } from './captured-pair.ts'
import type { CaptureKeys } from './capture-keys.ts'
import { CaptureQueue, type CaptureMetrics, type PairCapture, type QueuedCapture } from './capture-queue.ts'

/** The folder of captured pairs under the data directory: `captures/<slice>/<UTC hour>.jsonl`. */
export const CAPTURES_DIR = 'captures'
export const CAPTURE_SEGMENT_EXTENSION = '.jsonl'
export const DEFAULT_CAPTURE_PURGE_INTERVAL_MS = 60_000
/** The shortest purge round (a retention of seconds is purged every second). */
const MIN_CAPTURE_PURGE_INTERVAL_MS = 1_000
const HOUR_MS = 3_600_000
/** A slice folder name the store writes or reads: slice ids are kebab-case (nothing that walks out of the folder). */
export const SLICE_FOLDER = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const SEGMENT = /^(\d{4}-\d{2}-\d{2})T(\d{2})\.jsonl$/

/** The segment (file name) of a time: its UTC hour, `2026-12-07T14.jsonl`. */
export function segmentOf(timeMs: number): string {
  return `${new Date(timeMs).toISOString().slice(0, 13)}${CAPTURE_SEGMENT_EXTENSION}`
}

/** When a segment's hour began (ms), or undefined for a name that is not a segment. */
export function segmentStart(name: string): number | undefined {
  const match = SEGMENT.exec(name)
  if (!match) return undefined
  const start = Date.parse(`${match[1]}T${match[2]}:00:00Z`)
  return Number.isNaN(start) ? undefined : start
}

/** Segment names of a slice folder, oldest first (none when it does not exist). */
export async function listSegments(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => segmentStart(name) !== undefined).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

export function retentionMsOf(slices: ReadonlyMap<string, CaptureConfig>, slice: string): number {
  return (slices.get(slice)?.retentionHours ?? DEFAULT_CAPTURE_RETENTION_HOURS) * HOUR_MS
}

/** The purge round: every minute, or a tenth of the shortest retention when that is sooner. */
function purgeIntervalOf(slices: ReadonlyMap<string, CaptureConfig>): number {
  const shortest = Math.min(...[...slices.keys()].map((slice) => retentionMsOf(slices, slice)))
  return Math.max(MIN_CAPTURE_PURGE_INTERVAL_MS, Math.min(DEFAULT_CAPTURE_PURGE_INTERVAL_MS, Math.floor(shortest / 10)))
}

interface Segment {
  bytes: number
  records: number
}

/**
 * Captured pairs in the data directory: per slice, one file of envelopes per UTC hour (files 0600,
 * folders 0700). A segment goes once its hour ended more than the slice's retention ago, and the
 * records of a segment whose oldest ones expired are rewritten without them (checked at start and
 * every minute, or sooner for a retention under ten minutes); before a slice's total would pass its `maxBytes`, its oldest segments go;
 * when the current hour alone is at the bound, its captures are dropped (and counted) until the next
 * hour. Writes are queued and written off the caller's path (CaptureQueue).
 */
export class FileCaptureStore implements PairCapture {
  readonly #dir: string
  readonly #slices: ReadonlyMap<string, CaptureConfig>
  readonly #metrics: CaptureMetrics | undefined
  readonly #log: Logger
  readonly #now: () => number
  readonly #purgeIntervalMs: number
  readonly #queue: CaptureQueue
  /** Per slice folder, its segments by name. */
  readonly #segments = new Map<string, Map<string, Segment>>()
  /** Per slice, the segment that alone reached the size bound: its captures are dropped. */
  readonly #full = new Map<string, string>()
  /** Writes and purges one at a time: a segment is not rewritten while a batch is appended to it. */
  #exclusive: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #purging: Promise<void> | undefined

  constructor(options: {
    dataDir: string
    slices: ReadonlyMap<string, CaptureConfig>
    /** None: the store only purges (captures an earlier config left); writes are dropped. */
    keys: CaptureKeys | undefined
    logger: Logger
    metrics?: CaptureMetrics
    now?: () => number
    purgeIntervalMs?: number
    queue?: { readonly records: number; readonly bytes: number }
  }) {
    this.#dir = join(options.dataDir, CAPTURES_DIR)
    this.#slices = options.slices
    this.#metrics = options.metrics
    this.#log = options.logger.child({ component: 'captures' })
    this.#now = options.now ?? Date.now
    this.#purgeIntervalMs = options.purgeIntervalMs ?? purgeIntervalOf(options.slices)
    this.#queue = new CaptureQueue({
      keys: options.keys,
      deliver: (batch) => this.#serially(() => this.#store(batch)),
      metrics: options.metrics,
      logger: this.#log,
      ...(options.queue ? { limits: options.queue } : {}),
    })
  }

  /** Creates the folders (0700), learns the segments on disk, purges the expired ones and starts the minute purge. */
  async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await chmod(this.#dir, 0o700)
    for (const slice of new Set([...this.#slices.keys(), ...(await readdir(this.#dir))])) {
      if (!SLICE_FOLDER.test(slice)) continue
      const dir = join(this.#dir, slice)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await chmod(dir, 0o700)
      const segments = new Map<string, Segment>()
      for (const name of await listSegments(dir)) {
        const file = join(dir, name)
        await chmod(file, 0o600)
        segments.set(name, { bytes: (await stat(file)).size, records: await countLines(file) })
      }
      this.#segments.set(slice, segments)
    }
    await this.purge()
    this.#timer = setInterval(() => void this.purge(), this.#purgeIntervalMs)
    this.#timer.unref()
  }

  write(pair: CapturedPair): void {
    this.#queue.write(pair)
  }

  get depth(): { records: number; bytes: number } {
    return this.#queue.depth
  }

  /** Deletes every segment whose hour ended more than its slice's retention ago. */
  async purge(): Promise<void> {
    this.#purging ??= this.#serially(() => this.#purgeExpired()).finally(() => (this.#purging = undefined))
    await this.#purging
  }

  /** Writes what is queued; the store stays open. */
  flush(): Promise<void> {
    return this.#queue.flush()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#queue.close()
    await this.#purging
  }

  #serially(task: () => Promise<void>): Promise<void> {
    const run = this.#exclusive.then(task)
    this.#exclusive = run.catch(() => undefined)
    return run
  }

  async #purgeExpired(): Promise<void> {
    const now = this.#now()
    for (const [slice, segments] of this.#segments) {
      const retentionMs = retentionMsOf(this.#slices, slice)
      for (const name of [...segments.keys()].sort()) {
        const start = segmentStart(name) ?? 0
        if (start + retentionMs > now) break
        if (start + HOUR_MS + retentionMs <= now) await this.#delete(slice, name)
        else await this.#dropExpired(slice, name, now - retentionMs)
      }
    }
  }

  /** Rewrites a segment without its records captured before `cutoff` (and lines that are not records); deletes it when none is left. */
  async #dropExpired(slice: string, name: string, cutoff: number): Promise<void> {
    const file = join(this.#dir, slice, name)
    const segment = this.#segments.get(slice)?.get(name)
    try {
      const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '')
      const kept = lines.filter((line) => {
        const envelope = parseEnvelope(line)
        return envelope !== undefined && Date.parse(envelope.capturedAt) >= cutoff
      })
      if (kept.length === lines.length) return
      if (kept.length === 0) return await this.#delete(slice, name)
      const text = kept.map((line) => `${line}\n`).join('')
      const temporary = join(this.#dir, slice, `.${name}.purge`)
      await writeFile(temporary, text, { mode: 0o600 })
      await rename(temporary, file)
      if (segment) {
        segment.bytes = Buffer.byteLength(text)
        segment.records = kept.length
      }
      this.#metrics?.recordCapturePurged(slice, lines.length - kept.length)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return void this.#segments.get(slice)?.delete(name)
      this.#log.warn({ slice, segment: name, error: (err as NodeJS.ErrnoException).code }, 'expired captures could not be deleted')
    }
  }

  async #delete(slice: string, name: string): Promise<void> {
    const segment = this.#segments.get(slice)?.get(name)
    try {
      await unlink(join(this.#dir, slice, name))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#log.warn({ slice, segment: name, error: (err as NodeJS.ErrnoException).code }, 'capture segment could not be deleted')
        return
      }
    }
    this.#segments.get(slice)?.delete(name)
    if (segment && segment.records > 0) this.#metrics?.recordCapturePurged(slice, segment.records)
  }

  /** Appends a batch, one file write per segment, within each slice's size bound. */
  async #store(batch: readonly QueuedCapture[]): Promise<void> {
    const bySegment = new Map<string, { slice: string; name: string; lines: string[]; bytes: number }>()
    for (const item of batch) {
      if (!SLICE_FOLDER.test(item.slice)) {
        this.#metrics?.recordCapture(item.slice, 'error')
        continue
      }
      const name = segmentOf(item.capturedAtMs)
      if (!(await this.#makeRoom(item.slice, name, item.bytes))) {
        this.#metrics?.recordCapture(item.slice, 'dropped-size')
        continue
      }
      const key = `${item.slice}/${name}`
      const group = bySegment.get(key) ?? { slice: item.slice, name, lines: [], bytes: 0 }
      group.lines.push(item.line)
      group.bytes += item.bytes
      bySegment.set(key, group)
    }
    for (const group of bySegment.values()) await this.#append(group)
  }

  async #append(group: { slice: string; name: string; lines: string[]; bytes: number }): Promise<void> {
    const dir = join(this.#dir, group.slice)
    const segments = this.#segmentsOf(group.slice)
    try {
      if (segments.size === 0) await mkdir(dir, { recursive: true, mode: 0o700 })
      await appendFile(join(dir, group.name), group.lines.join(''), { mode: 0o600 })
    } catch (err) {
      this.#log.warn({ slice: group.slice, error: (err as NodeJS.ErrnoException).code }, 'captures could not be written; dropped')
      this.#release(group)
      this.#metrics?.recordCapture(group.slice, 'error', group.lines.length)
      return
    }
    const segment = segments.get(group.name)
    if (segment) segment.records += group.lines.length
    this.#metrics?.recordCapture(group.slice, 'written', group.lines.length)
  }

  /** Gives back the room a failed write had taken. */
  #release(group: { slice: string; name: string; bytes: number }): void {
    const segment = this.#segmentsOf(group.slice).get(group.name)
    if (segment) segment.bytes -= group.bytes
  }

  #segmentsOf(slice: string): Map<string, Segment> {
    let segments = this.#segments.get(slice)
    if (!segments) this.#segments.set(slice, (segments = new Map<string, Segment>()))
    return segments
  }

  /**
   * Takes room for `bytes` in a segment of the slice, deleting its oldest other segments while the
   * total would pass the bound; false (drop) when the segment alone is at the bound.
   */
  async #makeRoom(slice: string, name: string, bytes: number): Promise<boolean> {
    const maxBytes = this.#slices.get(slice)?.maxBytes
    if (maxBytes === undefined) return false
    // A capture larger than the whole bound could never fit: it alone is dropped, nothing older deleted for it.
    if (bytes > maxBytes || this.#full.get(slice) === name) return false
    const segments = this.#segmentsOf(slice)
    let total = [...segments.values()].reduce((sum, segment) => sum + segment.bytes, 0)
    while (total + bytes > maxBytes) {
      const oldest = [...segments.keys()].sort().find((other) => other !== name)
      if (oldest === undefined || oldest > name) {
        // Only this hour (or newer ones) is left: nothing older to give way.
        this.#full.set(slice, name)
        return false
      }
      total -= segments.get(oldest)?.bytes ?? 0
      await this.#delete(slice, oldest)
      if (segments.has(oldest)) return false
    }
    const segment = segments.get(name) ?? { bytes: 0, records: 0 }
    segment.bytes += bytes
    segments.set(name, segment)
    return true
  }
}

async function countLines(file: string): Promise<number> {
  let lines = 0
  for await (const chunk of createReadStream(file)) {
    const bytes = chunk as Buffer
    for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) lines += 1
  }
  return lines
}
