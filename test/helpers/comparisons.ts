import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Comparison } from '../../src/compare/comparison.ts'
import { isShadowSkips, type ComparisonsStreamEvent, type ShadowSkips } from '../../src/publish/shadow-skips.ts'
import { until } from './wait.ts'

/**
 * Every comparison the gateway has written to its JSONL sink so far, as raw text and records (the
 * skip aggregates beside them left out: readShadowSkips); `file`: another process's file
 * (`comparisons-reconcile.jsonl`, `comparisons-replay.jsonl`).
 */
export async function readComparisons(dataDir: string, file = 'comparisons.jsonl'): Promise<{ text: string; records: Comparison[] }> {
  const { text, events } = await readEvents(dataDir, file)
  return { text, records: events.filter((event): event is Comparison => !isShadowSkips(event)) }
}

/** The skip aggregates (ShadowSkips events) the gateway has written beside its comparisons so far. */
export async function readShadowSkips(dataDir: string, file = 'comparisons.jsonl'): Promise<ShadowSkips[]> {
  return (await readEvents(dataDir, file)).events.filter(isShadowSkips)
}

/** Every event of the comparisons stream the gateway has written to its JSONL sink so far. */
export async function readEvents(dataDir: string, file = 'comparisons.jsonl'): Promise<{ text: string; events: ComparisonsStreamEvent[] }> {
  let text = ''
  try {
    text = await readFile(join(dataDir, 'comparisons', file), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  // The sink may be writing as we read: a last line without its newline is not complete yet.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1)
  return {
    text,
    events: complete
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ComparisonsStreamEvent),
  }
}

/** Waits until the comparison of a request id is written, and returns it. */
export async function comparisonOf(dataDir: string, requestId: string, timeoutMs = 10_000): Promise<Comparison> {
  let found: Comparison | undefined
  await until(
    async () => (found = (await readComparisons(dataDir)).records.find((record) => record.requestId === requestId)) !== undefined,
    `the comparison of request ${requestId}`,
    { timeoutMs },
  )
  return found!
}
