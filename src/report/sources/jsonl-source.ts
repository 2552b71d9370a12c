import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fail } from '../../errors/errors.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { readEvent } from '../evidence-event.ts'

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
 * Streams every comparison (and skip aggregate) of a JSONL sink directory, a line at a time (memory
 * does not grow with the files). Lines that do not parse are counted and skipped; events of a type
 * this version does not know are counted apart (`other`), never as invalid.
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
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
    for await (const line of lines) {
      done += Buffer.byteLength(line) + 1
      if (line.trim() === '') continue
      let record: ReturnType<typeof readEvent>
      try {
        record = readEvent(JSON.parse(line))
      } catch {
        record = 'invalid'
      }
      if (record === 'invalid' || record === 'other') {
        if (record === 'invalid') invalid += 1
        else other += 1
        continue
      }
      onRecord(record)
      onProgress?.(done, total)
    }
  }
  onProgress?.(total, total)
  return { files: files.length, invalid, other }
}
