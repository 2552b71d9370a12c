import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { EventSink } from '../../src/publish/event-sink.ts'
import { LocalEvidence } from '../../src/report/reporter/evidence-sources.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

function nullSink(): EventSink<Comparison> {
  return {
    kind: 'null',
    write: () => undefined,
    writeDurable: () => Promise.resolve(),
    stats: () => ({ written: 0, dropped: 0, buffered: 0, lost: 0 }),
    status: () => ({ kind: 'null', state: 'connected', outboxBytes: 0 }),
    close: () => Promise.resolve(),
  }
}

async function total(evidence: LocalEvidence, slice: string): Promise<number> {
  let sum = 0
  for (const aggregate of (await evidence.versions(slice))?.values() ?? []) sum += Object.values(aggregate.families).reduce((a, b) => a + b, 0)
  return sum
}

describe("a gateway's own evidence", () => {
  it('counts a comparison written while the files are read at start once, though the file read meets it too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-local-evidence-'))
    dirs.push(dir)
    await mkdir(dir, { recursive: true })
    const records = Array.from({ length: 50 }, (_, n) => comparison({ slice: 's', eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` }))
    await writeFile(join(dir, 'comparisons.jsonl'), records.map((record) => `${JSON.stringify(record)}\n`).join(''))
    const evidence = new LocalEvidence()
    const sink = evidence.tee(nullSink())
    const loading = evidence.load(dir)
    // The last one was written by this process as the read began: the tee counted it, the file holds it.
    sink.write(records[49] as Comparison)
    await loading
    expect(await total(evidence, 's')).toBe(50)
    // After the read, the process's own comparisons are counted without their ids kept.
    sink.write(comparison({ slice: 's' }))
    expect(await total(evidence, 's')).toBe(51)
  })
})
