import { close, closeSync, fsync, openSync, write, writeSync } from 'node:fs'
import { promisify } from 'node:util'

const fsyncFd = promisify(fsync)
const closeFd = promisify(close)
const writeFd = promisify(write)

/**
 * The file a sink appends to, by descriptor, and when its bytes are safe. A write (`writeSync` or
 * `write`) puts them in the operating system's page cache: they survive the process being killed.
 * `sync` (fsync) makes them survive a machine crash. A file `switchTo` left (a rotated or finished
 * file) is kept open until a sync has covered it, then closed, so no fsync ever meets a closed or
 * reused descriptor.
 */
export class AppendTarget {
  #fd: number | undefined
  #retired: number[] = []
  #unsynced = false
  #syncing: Promise<void> | undefined

  /** Whether a file is open for appends. */
  get isOpen(): boolean {
    return this.#fd !== undefined
  }

  /** Appends to `path` from now on (created when missing); the previous file waits for the next sync. */
  switchTo(path: string): void {
    this.retire()
    this.#fd = openSync(path, 'a')
  }

  /** Stops appending to the current file; it is synced and closed by the next `sync`. */
  retire(): void {
    if (this.#fd === undefined) return
    this.#retired.push(this.#fd)
    this.#fd = undefined
    this.#unsynced = true
  }

  /** Appends all of `data` before returning; throws when the disk fails (part may be written). */
  writeSync(data: Buffer): void {
    const fd = this.#current()
    this.#unsynced = true
    let written = 0
    while (written < data.length) written += writeSync(fd, data, written, data.length - written)
  }

  /** Appends all of `data` without blocking the event loop; rejects when the disk fails. */
  async write(data: Buffer): Promise<void> {
    const fd = this.#current()
    this.#unsynced = true
    let written = 0
    while (written < data.length) written += (await writeFd(fd, data, written, data.length - written)).bytesWritten
  }

  /** Everything written so far is on stable storage when this resolves (one fsync round at a time; callers share it). */
  sync(): Promise<void> {
    this.#syncing ??= this.#syncAll().finally(() => (this.#syncing = undefined))
    return this.#syncing
  }

  /** Syncs and closes every file. */
  async close(): Promise<void> {
    this.retire()
    await this.sync()
  }

  /** Closes every file without syncing (the process is going away, or the disk failed). */
  closeNow(): void {
    this.retire()
    for (const fd of this.#retired.splice(0)) {
      try {
        closeSync(fd)
      } catch {
        // already gone
      }
    }
  }

  #current(): number {
    if (this.#fd === undefined) throw new Error('no file open for appends')
    return this.#fd
  }

  async #syncAll(): Promise<void> {
    while (this.#unsynced) {
      this.#unsynced = false
      const retired = this.#retired.splice(0)
      const fds = this.#fd === undefined ? retired : [this.#fd, ...retired]
      try {
        await Promise.all(fds.map((fd) => fsyncFd(fd)))
      } finally {
        await Promise.all(retired.map((fd) => closeFd(fd).catch(() => undefined)))
      }
    }
  }
}
