import { describe, expect, it } from 'vitest'
import { buildReport, ComparisonAggregator } from '../../src/report/report.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const RECORDS = 2_000_000

describe('aggregating a large stream', () => {
  it(`takes ${RECORDS.toLocaleString('en')} comparisons in bounded memory`, () => {
    const aggregator = new ComparisonAggregator()
    const start = Date.parse('2026-11-01T00:00:00Z')
    const template = comparison({ slice: 'coverage-status', diffPaths: ['/body/status'] })
    const mismatch = { ...template, category: 'body-mismatch' as const, outcome: 'disagree' as const }
    const match = { ...template, category: 'match' as const, outcome: 'agree' as const, diff: [] }
    const before = process.memoryUsage().rss
    let peak = before
    const started = performance.now()
    for (let i = 0; i < RECORDS; i++) {
      const base = i % 50 === 0 ? mismatch : match
      aggregator.add({
        ...base,
        slice: i % 4 === 0 ? 'billing-eligibility' : 'coverage-status',
        eventId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
        requestId: `r-${i}`,
        eventTime: new Date(start + i * 500).toISOString(),
        primary: { ...base.primary, latencyMs: 5 + (i % 97) },
        shadow: { ...base.shadow, latencyMs: 6 + (i % 89) },
      })
      if (i % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().rss)
    }
    const seconds = (performance.now() - started) / 1000
    peak = Math.max(peak, process.memoryUsage().rss)
    const report = buildReport(aggregator, [], { source: 'generated', window: { from: null, to: null } })
    const growthMb = (peak - before) / 1024 / 1024
    console.info(
      `aggregated ${RECORDS.toLocaleString('en')} comparisons in ${seconds.toFixed(1)} s; RSS ${Math.round(before / 1048576)} MB before, peak ${Math.round(peak / 1048576)} MB (+${growthMb.toFixed(0)} MB)`,
    )
    expect(report.slices.reduce((sum, slice) => sum + slice.records, 0)).toBe(RECORDS)
    expect(report.slices.find((slice) => slice.slice === 'coverage-status')?.categories['body-mismatch']).toBe(RECORDS / 50 / 2)
    // The histograms, paths and time buckets stay small; what grows is the event-id window
    // (8 bytes and some Set overhead per id, capped at four million ids).
    expect(growthMb).toBeLessThan(400)
  }, 120_000)
})
