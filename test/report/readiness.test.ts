import { describe, expect, it } from 'vitest'
import type { Category } from '../../src/compare/classify.ts'
import { DEFAULT_READINESS, verdict, type CriterionId, type ReadinessThresholds } from '../../src/report/readiness.ts'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import type { SliceTriage } from '../../src/report/slice-triage.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const HOUR = 3_600_000
const START = Date.parse('2026-11-20T00:00:00Z')
const THRESHOLDS: ReadinessThresholds = {
  ...DEFAULT_READINESS,
  minSamples: 100,
  minMatchRatePercent: 95,
  maxConflictRatePercent: 0,
  maxTranslationDefectRatePercent: 0,
  maxSourceDataDefectRatePercent: 1,
  maxNotComparedRatePercent: 5,
  maxShadowErrorRatePercent: 2,
  maxLagRatePercent: 5,
  maxLagP95Ms: 1_000,
  latencyPercentile: 95,
  maxLatencyRatio: 1.5,
  minSoakHours: 2,
  windowDays: 7,
}

interface Part {
  category: Category
  count: number
  modernMs?: number
  hours?: number
  lagMs?: number
  startAt?: number
}

function aggregate(parts: Part[]): SliceAggregate {
  const result = new SliceAggregate('s')
  for (const part of parts) {
    for (let i = 0; i < part.count; i++) {
      const time = (part.startAt ?? START) + ((part.hours ?? 3) * HOUR * i) / Math.max(1, part.count - 1)
      result.add(
        comparison({
          slice: 's',
          category: part.category,
          legacyMs: 10,
          modernMs: part.modernMs ?? 11,
          eventTime: new Date(time),
          ...(part.lagMs === undefined ? {} : { lagMs: part.lagMs }),
        }),
      )
    }
  }
  return result
}

/** A register read, with nothing triaged in it. */
const EMPTY_REGISTER: SliceTriage = { available: true, source: 'file', signatures: [] }

function judge(parts: Part[], thresholds = THRESHOLDS, now = START + 4 * HOUR): ReturnType<typeof verdict> {
  const from = now - thresholds.windowDays * 24 * HOUR
  return verdict(aggregate(parts).windowed(from, now), thresholds, { rulesHash: 'sha256:0123456789abcdef', from, to: now }, EMPTY_REGISTER)
}

function met(result: ReturnType<typeof verdict>): Record<CriterionId, boolean> {
  return Object.fromEntries(result.criteria.map((criterion) => [criterion.id, criterion.met])) as Record<CriterionId, boolean>
}

describe('readiness verdict', () => {
  it('is ready when every criterion is met, and says so with figures and the evidence it judged', () => {
    const result = judge([{ category: 'match', count: 400 }])
    expect(result.ready).toBe(true)
    expect(result.evidence).toEqual({
      rulesHash: 'sha256:0123456789abcdef',
      from: new Date(START + 4 * HOUR - 7 * 24 * HOUR).toISOString(),
      to: new Date(START + 4 * HOUR).toISOString(),
      windowDays: 7,
    })
    expect(result.criteria.map((criterion) => criterion.detail)).toEqual([
      '400 compared samples (at least 100)',
      expect.stringMatching(/^agreement 100\.00 %, 95 % lower bound 99\.\d\d % \(at least 95 %\); without forgiving noise 100\.00 %$/) as string,
      '0 genuine conflict(s) in 400 compared samples, 0.00 % (none allowed)',
      '0 translation defect(s) in 400 compared samples, 0.00 % (none allowed)',
      '0 source-data defect(s) in 400 compared samples, 0.00 % (at most 1 %)',
      '0 answer pair(s) not compared in 400 answered pairs, 0.00 % (at most 5 %)',
      '0 shadow error(s) in 400 shadow call(s), 0.00 % (at most 2 %)',
      '0 timing lag(s) in 400 compared samples, 0.00 % (at most 5 %)',
      'no timing lag measured (p95 at most 1000 ms)',
      expect.stringMatching(/^p95 modern 1\d\.\d ms vs legacy \d+\.\d ms \(modern at most 1\.5× legacy\)$/) as string,
      'samples span 3.0 h of the window (at least 2 h)',
      'no open genuine conflict (at most 7 d), no regression',
    ])
  })

  it('flips each criterion on its own: one per family, lag and latency', () => {
    const cases: [CriterionId, Part[]][] = [
      ['samples', [{ category: 'match', count: 99 }]],
      [
        'match-rate',
        [
          { category: 'match', count: 380 },
          { category: 'noise', count: 0 },
          { category: 'rule-violation', count: 3 },
          { category: 'timing-lag', count: 17, lagMs: 100 },
        ],
      ],
      [
        'conflicts',
        [
          { category: 'match', count: 399 },
          { category: 'body-mismatch', count: 1 },
        ],
      ],
      [
        'translation-defects',
        [
          { category: 'match', count: 399 },
          { category: 'untranslated', count: 1 },
        ],
      ],
      [
        'source-data-defects',
        [
          { category: 'match', count: 395 },
          { category: 'rule-violation', count: 5 },
        ],
      ],
      [
        'not-compared',
        [
          { category: 'match', count: 400 },
          { category: 'not-compared', count: 30 },
        ],
      ],
      [
        'shadow-errors',
        [
          { category: 'match', count: 400 },
          { category: 'shadow-error', count: 10 },
        ],
      ],
      [
        'lag-rate',
        [
          { category: 'match', count: 370 },
          { category: 'timing-lag', count: 30, lagMs: 200 },
        ],
      ],
      [
        'lag-p95',
        [
          { category: 'match', count: 395 },
          { category: 'timing-lag', count: 5, lagMs: 4_000 },
        ],
      ],
      ['latency', [{ category: 'match', count: 400, modernMs: 30 }]],
      ['soak', [{ category: 'match', count: 400, hours: 1 }]],
    ]
    for (const [criterion, parts] of cases) {
      const result = met(
        judge(
          parts,
          criterion === 'match-rate' ? { ...THRESHOLDS, maxLagRatePercent: 10, maxSourceDataDefectRatePercent: 5, minMatchRatePercent: 99 } : THRESHOLDS,
        ),
      )
      expect(result[criterion], criterion).toBe(false)
      expect(
        Object.entries(result)
          .filter(([id, ok]) => id !== criterion && !ok)
          .map(([id]) => id),
        criterion,
      ).toEqual([])
    }
  })

  it('counts skips and open breakers as neither errors nor samples', () => {
    const result = judge([
      { category: 'match', count: 400 },
      { category: 'shadow-skipped', count: 300 },
    ])
    expect(met(result)['shadow-errors']).toBe(true)
    expect(result.criteria.find((criterion) => criterion.id === 'samples')?.actual).toBe(400)
  })

  it('judges the match rate on the lower confidence bound, not the point estimate', () => {
    // 100 % of 40 samples: the point estimate passes 95 %, the lower bound (≈ 91 %) does not.
    const result = judge([{ category: 'match', count: 40 }], { ...THRESHOLDS, minSamples: 10 })
    expect(met(result)['match-rate']).toBe(false)
  })

  it('judges only the evidence inside the window', () => {
    // Three old conflicts, then 400 fresh matches: outside a 1-day window, the old ones no longer count.
    const parts: Part[] = [
      { category: 'body-mismatch', count: 3, startAt: START - 10 * 24 * HOUR, hours: 1 },
      { category: 'match', count: 400 },
    ]
    expect(met(judge(parts, { ...THRESHOLDS, windowDays: 30 })).conflicts).toBe(false)
    expect(judge(parts, { ...THRESHOLDS, windowDays: 1 }).ready).toBe(true)
  })

  it('allows a conflict rate when configured, and skips latency when turned off', () => {
    const parts: Part[] = [
      { category: 'match', count: 999 },
      { category: 'status-mismatch', count: 1, modernMs: 100 },
    ]
    expect(met(judge(parts, { ...THRESHOLDS, minMatchRatePercent: 90, maxConflictRatePercent: 0.5 })).conflicts).toBe(true)
    expect(met(judge([{ category: 'match', count: 400, modernMs: 90 }], { ...THRESHOLDS, maxLatencyRatio: null })).latency).toBe(true)
  })
})
