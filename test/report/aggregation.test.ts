import { describe, expect, it } from 'vitest'
import { LatencyHistogram } from '../../src/report/latency-histogram.ts'
import { wilson } from '../../src/report/readiness.ts'
import { buildReport, ComparisonAggregator } from '../../src/report/report.ts'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import { comparison, TEST_RULES_HASH } from '../helpers/generated-comparisons.ts'

const HOUR = 3_600_000

describe('latency histogram', () => {
  it('reads percentiles within its documented 2 % relative error, in constant memory', () => {
    const histogram = new LatencyHistogram()
    for (let ms = 1; ms <= 10_000; ms++) histogram.add(ms)
    for (const [q, exact] of [
      [0.5, 5_000],
      [0.95, 9_500],
      [0.99, 9_900],
    ] as const) {
      const read = histogram.quantile(q) ?? 0
      expect(Math.abs(read - exact) / exact, `p${q * 100}`).toBeLessThanOrEqual(0.02)
    }
    expect(histogram.distribution().length).toBeLessThan(500)
  })

  it('merges exactly and survives JSON', () => {
    const a = new LatencyHistogram()
    const b = new LatencyHistogram()
    const all = new LatencyHistogram()
    for (let i = 0; i < 1_000; i++) {
      const value = (i * 37) % 977
      ;(i % 2 === 0 ? a : b).add(value)
      all.add(value)
    }
    a.merge(LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(b.toJSON())) as ReturnType<LatencyHistogram['toJSON']>))
    expect(a.toJSON()).toEqual(all.toJSON())
    expect(a.count).toBe(1_000)
  })
})

describe('Wilson interval', () => {
  it('matches the known values', () => {
    const interval = wilson(95, 100)!
    expect(interval.value).toBe(0.95)
    expect(interval.lower).toBeCloseTo(0.8882, 3)
    expect(interval.upper).toBeCloseTo(0.9785, 3)
    expect(wilson(0, 0)).toBeNull()
    expect(wilson(10, 10)!.upper).toBeCloseTo(1, 12)
  })
})

describe('aggregation', () => {
  const start = new Date('2026-11-20T00:00:00Z').getTime()

  function stream(): ReturnType<typeof comparison>[] {
    const out: ReturnType<typeof comparison>[] = []
    for (let i = 0; i < 900; i++)
      out.push(comparison({ category: 'match', eventTime: new Date(start + (i % 3) * HOUR), legacyMs: 10 + (i % 10), modernMs: 20 + (i % 10) }))
    for (let i = 0; i < 50; i++) out.push(comparison({ category: 'noise', eventTime: new Date(start + HOUR) }))
    for (let i = 0; i < 30; i++)
      out.push(comparison({ category: 'body-mismatch', diffPaths: ['/body/eligible'], requestId: `conflict-${i}`, eventTime: new Date(start + 2 * HOUR) }))
    for (let i = 0; i < 15; i++)
      out.push(
        comparison({
          category: 'untranslated',
          diffPaths: ['/body/status'],
          untranslated: [{ path: '/body/status', value: 'PNDC' }],
          eventTime: new Date(start + 2 * HOUR),
        }),
      )
    for (let i = 0; i < 5; i++) out.push(comparison({ category: 'shadow-error', cause: i < 3 ? 'timeout' : 'refused', eventTime: new Date(start) }))
    out.push(comparison({ category: 'shadow-skipped', cause: 'queue-full', eventTime: new Date(start), route: 'GET /other' }))
    return out
  }

  it('gives the known counts, match rate, paths, untranslated values, latency and timeline', () => {
    const aggregator = new ComparisonAggregator()
    for (const record of stream()) aggregator.add(record)
    const [report] = buildReport(aggregator, [], { source: 'test', window: { from: null, to: null } }).slices
    expect(report).toBeDefined()
    expect(report!.records).toBe(1_001)
    expect(report!.samples).toBe(995)
    expect(report!.matchRate!.value).toBeCloseTo(950 / 995, 6)
    expect(report!.categories).toMatchObject({ match: 900, noise: 50, 'body-mismatch': 30, untranslated: 15, 'shadow-error': 5, 'shadow-skipped': 1 })
    expect(report!.shadowErrors).toEqual({ timeout: 3, refused: 2 })
    expect(report!.skipped).toEqual({ 'queue-full': 1 })
    expect(report!.families).toMatchObject({ match: 900, noise: 50, 'genuine-conflict': 30, 'translation-defect': 15, 'shadow-error': 5, 'shadow-skipped': 1 })
    expect(report!.matchRateWithoutNoise!.value).toBeCloseTo(900 / 995, 6)
    expect(report!.topPaths).toEqual([
      { family: 'genuine-conflict', path: '/body/eligible', count: 30, exampleRequestId: 'conflict-0' },
      { family: 'translation-defect', path: '/body/status', count: 15, exampleRequestId: expect.any(String) as string },
    ])
    expect(report!.untranslated).toEqual([{ path: '/body/status', value: 'PNDC', count: 15, exampleRequestId: expect.any(String) as string }])
    expect(report!.latency.legacy.p50).toBeGreaterThan(14 * 0.98)
    expect(report!.latency.legacy.p50).toBeLessThan(15 * 1.02)
    expect(report!.latency.modern.p99).toBeLessThan(29 * 1.02)
    expect(report!.errorRate).toEqual({ legacy: 0, modern: 5 / 1_000 })
    // Minute buckets: only the three minutes that hold comparisons.
    expect(report!.timeline.map((bucket) => bucket.start)).toEqual([0, 1, 2].map((h) => new Date(start + h * HOUR).toISOString()))
    expect(report!.timeline[2]).toMatchObject({ disagree: 45, widthMs: 60_000 })
    expect(report!.routes.map((route) => route.route).sort()).toEqual(['GET /other', 'GET /policies/:id'])
    expect(report!.firstSample).toBe(new Date(start).toISOString())
    expect(report!.lastSample).toBe(new Date(start + 2 * HOUR).toISOString())
  })

  it('counts a duplicate event once', () => {
    const aggregator = new ComparisonAggregator()
    const record = comparison()
    aggregator.add(record)
    aggregator.add({ ...record })
    aggregator.add(comparison())
    expect(aggregator.counts).toMatchObject({ read: 3, duplicates: 1 })
    expect(aggregator.slices.get('coverage-status')?.get(TEST_RULES_HASH)?.records).toBe(2)
  })

  it('keeps only the window', () => {
    const aggregator = new ComparisonAggregator({ window: { from: start + HOUR, to: start + 2 * HOUR } })
    for (const record of stream()) aggregator.add(record)
    expect(aggregator.slices.get('coverage-status')?.get(TEST_RULES_HASH)?.records).toBe(300 + 50)
    expect(aggregator.counts.outsideWindow).toBe(1_001 - 350)
  })

  it('merges partial aggregates into the same result as one pass, also through JSON', () => {
    const records = stream()
    const whole = new SliceAggregate('coverage-status', TEST_RULES_HASH)
    const left = new SliceAggregate('coverage-status', TEST_RULES_HASH)
    const right = new SliceAggregate('coverage-status', TEST_RULES_HASH)
    records.forEach((record, index) => {
      whole.add(record)
      ;(index % 2 === 0 ? left : right).add(record)
    })
    const merged = SliceAggregate.fromJSON(JSON.parse(JSON.stringify(left.toJSON())) as ReturnType<SliceAggregate['toJSON']>)
    merged.merge(SliceAggregate.fromJSON(right.toJSON()))
    const normalise = (aggregate: SliceAggregate) => {
      const json = aggregate.toJSON()
      return {
        ...json,
        paths: Object.fromEntries(Object.entries(json.paths).map(([path, entry]) => [path, entry.count])),
        untranslated: Object.values(json.untranslated).map((entry) => entry.count),
      }
    }
    expect(normalise(merged)).toEqual(normalise(whole))
  })
})
