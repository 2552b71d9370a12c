import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { shadowSkips, type ComparisonsStreamEvent } from '../../src/publish/shadow-skips.ts'
import { readEvent } from '../../src/report/evidence-event.ts'
import { buildReport, ComparisonAggregator } from '../../src/report/report.ts'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import { readComparisonsFromJsonl } from '../../src/report/sources/jsonl-source.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const RULES = 'sha256:0123456789abcdef'
const HOUR = 3_600_000
const at = Date.parse('2026-12-07T10:00:00Z')

function skips(counts: Parameters<typeof shadowSkips>[1], endMs: number, slice = 's'): ReturnType<typeof shadowSkips> {
  return shadowSkips({ id: slice, rulesHash: RULES }, counts, { start: new Date(endMs - 10_000), end: new Date(endMs) }, { instance: 'gw', configVersion: 'v' })
}

describe('skip aggregates in the report', () => {
  it('count as the shadow-skipped records they replace: family, category, causes, live origin, hour of evidence, timeline; no side call', () => {
    const aggregator = new ComparisonAggregator()
    aggregator.add(comparison({ slice: 's', rulesHash: RULES, category: 'match', eventTime: new Date(at) }))
    aggregator.add(comparison({ slice: 's', rulesHash: RULES, category: 'shadow-skipped', cause: 'client-closed', eventTime: new Date(at) }))
    const event = skips({ 'queue-full': 3, 'sampled-out': 90 }, at + 30_000)
    aggregator.add(event)
    // A copy delivered again (same eventId) is counted once.
    aggregator.add({ ...event })
    const aggregate = aggregator.slices.get('s')!.get(RULES)!
    expect(aggregate.records).toBe(95)
    expect(aggregate.families['shadow-skipped']).toBe(94)
    expect(aggregate.categories['shadow-skipped']).toBe(94)
    expect(aggregate.origins.live).toBe(95)
    expect(aggregate.calls).toEqual({ legacy: 2, modern: 1 })
    expect(aggregate.errors).toEqual({ legacy: 0, modern: 0 })
    expect(aggregate.windowed(at - HOUR, at + HOUR).families['shadow-skipped']).toBe(94)
    expect(aggregate.timeline.entries().reduce((sum, [, bucket]) => sum + bucket.notCompared, 0)).toBe(94)
    expect(aggregator.counts).toEqual({ read: 4, duplicates: 1, outsideWindow: 0 })

    const [slice] = buildReport(aggregator, [], { source: 'test', window: { from: null, to: null }, now: at + HOUR }).slices
    expect(slice!.skipped).toEqual({ 'client-closed': 1, 'queue-full': 3, 'sampled-out': 90 })
    expect(slice!.samples).toBe(1)
    // Skips are not per route: the routes list the comparisons.
    expect(slice!.routes.reduce((sum, route) => sum + route.records, 0)).toBe(2)
  })

  it('survive the reporter’s saved state (toJSON, fromJSON) and merging partitions', () => {
    const one = new SliceAggregate('s', RULES)
    one.addSkips(skips({ 'breaker-open': 4 }, at))
    const two = SliceAggregate.fromJSON(JSON.parse(JSON.stringify(one.toJSON())) as ReturnType<SliceAggregate['toJSON']>)
    two.addSkips(skips({ 'breaker-open': 1, 'unsafe-write': 2 }, at + 5 * 60_000))
    const merged = new SliceAggregate('s', RULES)
    merged.merge(one)
    merged.merge(two)
    expect(Object.fromEntries(merged.causes)).toEqual({ 'shadow-skipped:breaker-open': 9, 'shadow-skipped:unsafe-write': 2 })
    expect(merged.windowed(null, null).families['shadow-skipped']).toBe(11)
  })

  it('are outside a report window by the end of their window', () => {
    const aggregator = new ComparisonAggregator({ window: { from: at, to: at + HOUR } })
    aggregator.add(skips({ 'sampled-out': 5 }, at - 1))
    aggregator.add(skips({ 'sampled-out': 7 }, at + 1))
    expect(aggregator.counts.outsideWindow).toBe(1)
    expect(aggregator.slices.get('s')!.get(RULES)!.families['shadow-skipped']).toBe(7)
  })
})

describe('readers of the comparisons stream', () => {
  it('sort events by type: an event type they do not know is passed over, never counted as an invalid comparison', async () => {
    expect(readEvent(comparison())).toMatchObject({ eventType: 'ficus.comparison' })
    expect(readEvent(skips({ 'sampled-out': 1 }, at))).toMatchObject({ eventType: 'ficus.shadow-skips' })
    expect(readEvent({ eventType: 'ficus.later-thing', eventId: 'x', slice: 's' })).toBe('other')
    expect(readEvent({ eventType: 'ficus.shadow-skips', eventId: 'x', slice: 's' })).toBe('invalid')
    expect(readEvent({ eventId: 'x', slice: 's' })).toBe('invalid')
    expect(readEvent('text')).toBe('invalid')

    const dir = await mkdtemp(join(tmpdir(), 'ficus-skips-'))
    try {
      const lines = [
        JSON.stringify(comparison({ slice: 's' })),
        JSON.stringify(skips({ 'queue-full': 2 }, at)),
        JSON.stringify({ schemaVersion: 1, eventType: 'ficus.later-thing', eventId: 'e-1', slice: 's', eventTime: new Date(at).toISOString() }),
        'not json',
      ]
      await writeFile(join(dir, 'comparisons.jsonl'), `${lines.join('\n')}\n`)
      const read: ComparisonsStreamEvent[] = []
      const result = await readComparisonsFromJsonl(dir, (event) => read.push(event))
      expect(result).toEqual({ files: 1, invalid: 1, other: 1 })
      expect(read.map((event) => event.eventType)).toEqual(['ficus.comparison', 'ficus.shadow-skips'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
