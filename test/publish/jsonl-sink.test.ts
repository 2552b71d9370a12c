import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { JsonlSink } from '../../src/publish/jsonl-sink.ts'

let dir: string
let logs: Record<string, unknown>[]
const logger = () => {
  const captured = capturingLogger()
  logs = captured.lines
  return captured.logger
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-sink-'))
  logs = []
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const record = (n: number): Comparison => ({ requestId: `r-${n}`, padding: 'x'.repeat(200) }) as unknown as Comparison

async function lines(): Promise<string[]> {
  const names = (await readdir(join(dir, 'comparisons'))).filter((name) => name.endsWith('.jsonl')).sort()
  const all: string[] = []
  for (const name of names) all.push(...(await readFile(join(dir, 'comparisons', name), 'utf8')).split('\n').filter((line) => line !== ''))
  return all
}

describe('JSONL sink', () => {
  it('writes every record as one JSON line and rotates large files without losing any', async () => {
    const sink = new JsonlSink({ dir: join(dir, 'comparisons'), logger: logger(), maxFileBytes: 2_000 })
    for (let n = 0; n < 50; n++) {
      sink.write(record(n))
      // Let the writer take small batches, so that several rotations happen close together.
      if (n % 5 === 4) while (sink.stats().written < n + 1) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await sink.close()
    const written = await lines()
    expect(written).toHaveLength(50)
    expect(new Set(written.map((line) => (JSON.parse(line) as { requestId: string }).requestId)).size).toBe(50)
    const files = await readdir(join(dir, 'comparisons'))
    expect(files.filter((name) => /^comparisons-.+\.jsonl$/.test(name)).length).toBeGreaterThan(1)
    expect(sink.stats()).toEqual({ written: 50, dropped: 0, buffered: 0, lost: 0 })
  })

  it('drops records beyond its buffer, counts them and logs the count', async () => {
    const sink = new JsonlSink({ dir: join(dir, 'comparisons'), logger: logger(), maxBuffered: 5 })
    for (let n = 0; n < 20; n++) sink.write(record(n))
    // Closed twice (a shutdown racing a failed start): the second waits for the first, never EBADF.
    await Promise.all([sink.close(), sink.close()])
    await sink.close()
    const stats = sink.stats()
    expect(stats.written + stats.dropped).toBe(20)
    expect(stats.dropped).toBeGreaterThan(0)
    expect(await lines()).toHaveLength(stats.written)
    expect(logs.some((line) => line.msg === 'comparisons buffer full: records dropped' && typeof line.dropped === 'number')).toBe(true)
  })

  it('keeps records while the disk refuses them and writes them once it can', async () => {
    // The directory's place is taken by a file: every write fails until it is removed.
    await writeFile(join(dir, 'comparisons'), 'in the way')
    const sink = new JsonlSink({ dir: join(dir, 'comparisons'), logger: logger() })
    sink.write(record(1))
    sink.write(record(2))
    for (let i = 0; i < 100 && !logs.some((line) => line.msg === 'writing comparisons failed; retrying'); i++)
      await new Promise((resolve) => setTimeout(resolve, 10))
    expect(sink.stats()).toMatchObject({ written: 0, buffered: 2 })
    await rm(join(dir, 'comparisons'))
    for (let i = 0; i < 300 && sink.stats().written < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await sink.close()
    expect((await lines()).map((line) => (JSON.parse(line) as { requestId: string }).requestId)).toEqual(['r-1', 'r-2'])
  })
})
