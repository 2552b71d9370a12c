import { describe, expect, it } from 'vitest'
import type { Category } from '../../src/compare/classify.ts'
import { DEFAULT_READINESS, verdict, type CriterionId, type ReadinessThresholds } from '../../src/report/readiness.ts'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const HOUR = 3_600_000
const THRESHOLDS: ReadinessThresholds = { ...DEFAULT_READINESS, minSamples: 100, minMatchRatePercent: 95, maxConflictRatePercent: 0, maxShadowErrorRatePercent: 2, latencyPercentile: 95, maxLatencyRatio: 1.5, minSoakHours: 2 }

function aggregate(parts: { category: Category; count: number; modernMs?: number; hours?: number }[]): SliceAggregate {
  const result = new SliceAggregate('s')
  const start = Date.parse('2026-11-20T00:00:00Z')
  for (const part of parts) {
    for (let i = 0; i < part.count; i++) {
      result.add(comparison({ slice: 's', category: part.category, legacyMs: 10, modernMs: part.modernMs ?? 11, eventTime: new Date(start + ((part.hours ?? 3) * HOUR * i) / Math.max(1, part.count - 1)) }))
    }
  }
  return result
}

function met(result: ReturnType<typeof verdict>): Record<CriterionId, boolean> {
  return Object.fromEntries(result.criteria.map((criterion) => [criterion.id, criterion.met])) as Record<CriterionId, boolean>
}

describe('readiness verdict', () => {
  it('is ready when every criterion is met, and says so with figures', () => {
    const result = verdict(aggregate([{ category: 'match', count: 400 }]), THRESHOLDS)
    expect(result.ready).toBe(true)
    expect(result.criteria.map((criterion) => criterion.detail)).toEqual([
      '400 compared samples (at least 100)',
      expect.stringMatching(/^match rate 100\.00 %, 95 % lower bound 99\.\d\d % \(at least 95 %\)$/) as string,
      '0 genuine conflict(s) (status or body mismatch; none allowed)',
      '0 shadow error(s) in 400 shadow call(s), 0.00 % (at most 2 %)',
      expect.stringMatching(/^p95 modern 1\d\.\d ms vs legacy \d+\.\d ms \(modern at most 1\.5× legacy\)$/) as string,
      'samples span 3.0 h (at least 2 h)',
    ])
  })

  it('flips each criterion on its own', () => {
    const cases: [CriterionId, Parameters<typeof aggregate>[0]][] = [
      ['samples', [{ category: 'match', count: 99 }]],
      ['match-rate', [{ category: 'match', count: 380 }, { category: 'untranslated', count: 20 }]],
      ['conflicts', [{ category: 'match', count: 399 }, { category: 'body-mismatch', count: 1 }]],
      ['shadow-errors', [{ category: 'match', count: 400 }, { category: 'shadow-error', count: 10 }]],
      ['latency', [{ category: 'match', count: 400, modernMs: 30 }]],
      ['soak', [{ category: 'match', count: 400, hours: 1 }]],
    ]
    for (const [criterion, parts] of cases) {
      const result = met(verdict(aggregate(parts), THRESHOLDS))
      expect(result[criterion], criterion).toBe(false)
      expect(Object.entries(result).filter(([id, ok]) => id !== criterion && !ok).map(([id]) => id), criterion).toEqual([])
    }
  })

  it('judges the match rate on the lower confidence bound, not the point estimate', () => {
    // 100 % of 40 samples: the point estimate passes 95 %, the lower bound (≈ 91 %) does not.
    const result = verdict(aggregate([{ category: 'match', count: 40 }]), { ...THRESHOLDS, minSamples: 10 })
    expect(met(result)['match-rate']).toBe(false)
  })

  it('allows a conflict rate when configured, and skips latency when turned off', () => {
    const parts = [{ category: 'match' as const, count: 999 }, { category: 'status-mismatch' as const, count: 1, modernMs: 100 }]
    expect(met(verdict(aggregate(parts), { ...THRESHOLDS, minMatchRatePercent: 90, maxConflictRatePercent: 0.5 })).conflicts).toBe(true)
    expect(met(verdict(aggregate([{ category: 'match', count: 400, modernMs: 90 }]), { ...THRESHOLDS, maxLatencyRatio: null })).latency).toBe(true)
  })
})
