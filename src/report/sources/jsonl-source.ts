import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fail } from '../../errors/errors.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { eventOf } from './stream-record.ts'

/**
 * The comparison files of a JSONL sink directory, oldest first: rotated files by name, then the
 * current one; only the names `only` keeps, when given (a worker's own, `ficus start --workers`).
 */
export async function comparisonFiles(dir: string, only?: (name: string) => boolean): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw fail.reportSource(`${dir}: no comparisons here (no such directory); run traffic through a shadowed slice, or pass --data-dir`)
    throw err
  }
  const rotated = names.filter((name) => /^comparisons-.+\.jsonl$/.test(name)).sort()
  return [...rotated, ...names.filter((name) => name === 'comparisons.jsonl')].filter((name) => only?.(name) ?? true).map((name) => join(dir, name))
}

/** Bytes read at a time: lines are cut from the text of a whole chunk. */
const CHUNK_BYTES = 1024 * 1024
const NEWLINE = 0x0a

/**
 * Which comparison files are a worker's, with `workers` processes (`ficus start --workers`): a worker
 * above 1 writes `comparisons-w<rank>.jsonl` (rotated `comparisons-w<rank>-<time>-<n>.jsonl`);
 * worker 1 has every other file — its own, the sidecars', and those of ranks no longer running.
 */
export function workerFiles(rank: number, workers: number): (name: string) => boolean {
  return (name) => {
    const match = /^comparisons-w(\d+)[-.]/.exec(name)
    const owner = match && Number(match[1]) >= 2 && Number(match[1]) <= workers ? Number(match[1]) : 1
    return owner === rank
  }
}

/**
 * Streams every comparison (and skip aggregate) of a JSONL sink directory, a chunk at a time
 * (memory does not grow with the files). Lines that do not parse are counted and skipped; events
 * of a type this version does not know are counted apart (`other`), never as invalid; blank lines
 * are skipped.
 */
export async function readComparisonsFromJsonl(
  dir: string,
  onRecord: (record: ComparisonsStreamEvent) => void,
  onProgress?: (done: number, total: number) => void,
  only?: (name: string) => boolean,
): Promise<{ files: number; invalid: number; other: number }> {
  const files = await comparisonFiles(dir, only)
  const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size))
  const total = sizes.reduce((sum, size) => sum + size, 0)
  let done = 0
  let invalid = 0
  let other = 0
  const line = (text: string): void => {
    const event = eventOf(text)
    if (event === 'other') other += 1
    else if (event !== 'invalid') onRecord(event)
    else if (text.trim() !== '') invalid += 1
  }
  // Two buffers for every read: the next chunk is read into one while lines are cut from the other
  // at newline bytes (never inside a UTF-8 sequence) and decoded one by one, small strings that die
  // young. Only a line's head left at the end of a chunk is copied. Nothing is allocated per chunk.
  const buffers: readonly Buffer[] = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]
  for (const file of files) {
    const handle = await open(file, 'r')
    try {
      let which = 0
      let pending = handle.read(buffers[0] as Buffer, 0, CHUNK_BYTES, null)
      let head: Buffer | undefined
      for (;;) {
        const { bytesRead, buffer } = await pending
        if (bytesRead === 0) break
        which ^= 1
        pending = handle.read(buffers[which] as Buffer, 0, CHUNK_BYTES, null)
        done += bytesRead
        let start = 0
        let end = buffer.indexOf(NEWLINE)
        if (head !== undefined) {
          if (end < 0 || end >= bytesRead) {
            head = Buffer.concat([head, buffer.subarray(0, bytesRead)]) // a line longer than a chunk
            continue
          }
          line(Buffer.concat([head, buffer.subarray(0, end)]).toString('utf8'))
          head = undefined
          start = end + 1
          end = buffer.indexOf(NEWLINE, start)
        }
        for (; end >= 0 && end < bytesRead; end = buffer.indexOf(NEWLINE, start)) {
          line(buffer.toString('utf8', start, end))
          start = end + 1
        }
        if (start < bytesRead) head = Buffer.from(buffer.subarray(start, bytesRead))
        onProgress?.(done, total)
      }
      if (head !== undefined) line(head.toString('utf8'))
    } finally {
      await handle.close()
    }
  }
  onProgress?.(total, total)
  return { files: files.length, invalid, other }
}
