import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

const WIDTH = 20

/** What the file said at open: how many records an earlier process accepted and never settled. */
export interface SequenceOpening {
  readonly sequence: SequenceFile
  /** Accepted by an earlier process, then neither written, delivered nor counted as dropped: lost in a crash. */
  readonly lost: number
  /** The file existed but could not be read (a torn write): nothing can be said about the earlier process. */
  readonly unreadable: boolean
}

/**
 * A sink's record sequence and its high-water marks, in one small file of the data directory
 * (issue 14): `accepted` counts the records the sink took (the last one's sequence number),
 * `settled` those that reached the disk or the broker, or were dropped and counted. A record in
 * between lives only in memory, so after a crash the gap is exactly what the crash lost.
 *
 * `accept` and `settle` write the file at the end of the event-loop turn they were called in, once
 * for all the records of that turn (a `pwrite` of 42 bytes into the page cache, no fsync; a write
 * per record cost a system call per comparison): it survives the process being killed, which is
 * what the count is for. The file is rewritten in place at a fixed width, so a write never leaves
 * it shorter or half old.
 */
export class SequenceFile {
  readonly #fd: number
  #accepted: number
  #settled: number
  #dirty = false
  #scheduled = false
  #failed = false
  readonly #onError: (err: unknown) => void

  private constructor(fd: number, accepted: number, onError: (err: unknown) => void) {
    this.#fd = fd
    this.#accepted = accepted
    this.#settled = accepted
    this.#onError = onError
  }

  /** Opens (or creates) the file, computes what an earlier process lost, and starts with nothing pending. */
  static open(path: string, onError: (err: unknown) => void): SequenceOpening {
    mkdirSync(dirname(path), { recursive: true })
    let text = ''
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const match = /^(\d+) (\d+)\n$/.exec(text)
    const accepted = match ? Number(match[1]) : 0
    const settled = match ? Number(match[2]) : 0
    const fd = openSync(path, text === '' ? 'w+' : 'r+')
    const sequence = new SequenceFile(fd, accepted, onError)
    sequence.#write()
    fsyncSync(fd)
    return { sequence, lost: Math.max(0, accepted - settled), unreadable: text !== '' && !match }
  }

  /** The last sequence number given out. */
  get accepted(): number {
    return this.#accepted
  }

  /** Records accepted and not yet settled: in memory only. */
  get pending(): number {
    return this.#accepted - this.#settled
  }

  /** Takes a record that will wait in memory: its sequence number, recorded on disk at the end of this turn. */
  accept(): number {
    this.#accepted += 1
    this.#writeSoon()
    return this.#accepted
  }

  /** Takes a record that is already on disk (write-ahead, durable writes): recorded lazily, nothing is pending. */
  acceptSettled(): number {
    this.#accepted += 1
    this.#settled += 1
    this.#dirty = true
    return this.#accepted
  }

  /** `count` pending records reached the disk or the broker, or were dropped and counted. */
  settle(count: number): void {
    if (count <= 0) return
    this.#settled = Math.min(this.#accepted, this.#settled + count)
    this.#writeSoon()
  }

  /** Writes what `acceptSettled` left unwritten. */
  flush(): void {
    if (this.#dirty) this.#write()
  }

  close(): void {
    this.flush()
    try {
      fsyncSync(this.#fd)
    } catch (err) {
      this.#report(err)
    }
    closeSync(this.#fd)
  }

  /** One write for everything accepted or settled in this turn of the event loop. */
  #writeSoon(): void {
    this.#dirty = true
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush()
    }).unref()
  }

  #write(): void {
    this.#dirty = false
    const text = `${String(this.#accepted).padStart(WIDTH, '0')} ${String(this.#settled).padStart(WIDTH, '0')}\n`
    try {
      writeSync(this.#fd, text, 0, 'utf8')
    } catch (err) {
      this.#report(err)
    }
  }

  #report(err: unknown): void {
    // Once: a failing disk would otherwise log for every record.
    if (this.#failed) return
    this.#failed = true
    this.#onError(err)
  }
}
