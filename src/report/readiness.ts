import type { SliceAggregate } from './slice-aggregate.ts'

/** Thresholds a slice must meet before its authority may move to modern. */
export interface ReadinessThresholds {
  /** Compared samples (agree + disagree) in the window. */
  readonly minSamples: number
  /** Lower bound of the 95 % confidence interval of the match rate, in percent. */
  readonly minMatchRatePercent: number
  /** Genuine conflicts (status or body mismatch) per compared sample, in percent; 0 means none. */
  readonly maxConflictRatePercent: number
  /** Shadow errors per shadow call, in percent. */
  readonly maxShadowErrorRatePercent: number
  /** Modern's latency at this percentile may be at most `maxLatencyRatio` × legacy's; null: not checked. */
  readonly latencyPercentile: 50 | 95 | 99
  readonly maxLatencyRatio: number | null
  /** Time between the first and the last sample in the window, in hours. */
  readonly minSoakHours: number
}

export const DEFAULT_READINESS: ReadinessThresholds = {
  minSamples: 500,
  minMatchRatePercent: 99,
  maxConflictRatePercent: 0,
  maxShadowErrorRatePercent: 1,
  latencyPercentile: 95,
  maxLatencyRatio: 1.25,
  minSoakHours: 24,
}

export const CRITERIA = ['samples', 'match-rate', 'conflicts', 'shadow-errors', 'latency', 'soak'] as const
export type CriterionId = (typeof CRITERIA)[number]

export interface Criterion {
  readonly id: CriterionId
  readonly met: boolean
  /** One line a person reads: the figure, the threshold, and what was compared. */
  readonly detail: string
  readonly actual: number | null
  readonly threshold: number
}

export interface Verdict {
  readonly ready: boolean
  readonly criteria: readonly Criterion[]
}

export interface RateInterval {
  readonly value: number
  readonly lower: number
  readonly upper: number
}

const Z_95 = 1.959964

/** Wilson score interval (95 %) of `successes` out of `n`: sound for small n and rates near 1. */
export function wilson(successes: number, n: number): RateInterval | null {
  if (n === 0) return null
  const p = successes / n
  const z2 = Z_95 * Z_95
  const denominator = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denominator
  const half = (Z_95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator
  return { value: p, lower: Math.max(0, center - half), upper: Math.min(1, center + half) }
}

export function compared(aggregate: SliceAggregate): { agree: number; disagree: number; conflicts: number } {
  const c = aggregate.categories
  const agree = c.match + c.noise + c['timing-lag']
  const conflicts = c['status-mismatch'] + c['body-mismatch']
  return { agree, disagree: conflicts + c.untranslated, conflicts }
}

const pct = (value: number): string => `${(value * 100).toFixed(2)} %`

function latencyCriterion(thresholds: ReadinessThresholds, legacy: number | null, modern: number | null): Criterion {
  const ratio = thresholds.maxLatencyRatio
  const actual = legacy !== null && modern !== null && legacy > 0 ? modern / legacy : null
  if (ratio === null) return { id: 'latency', met: true, actual, threshold: 0, detail: 'latency budget not checked for this slice' }
  return {
    id: 'latency',
    met: legacy !== null && modern !== null && modern <= legacy * ratio,
    actual,
    threshold: ratio,
    detail:
      legacy === null || modern === null
        ? `p${thresholds.latencyPercentile} latency not measured on both sides yet`
        : `p${thresholds.latencyPercentile} modern ${modern.toFixed(1)} ms vs legacy ${legacy.toFixed(1)} ms (modern at most ${ratio}× legacy)`,
  }
}

/** The readiness verdict of one slice: every criterion with its figures, so a person sees why. Pure. */
export function verdict(aggregate: SliceAggregate, thresholds: ReadinessThresholds): Verdict {
  const { agree, disagree, conflicts } = compared(aggregate)
  const samples = agree + disagree
  const interval = wilson(agree, samples)
  const shadowErrors = aggregate.categories['shadow-error']
  const shadowCalls = samples + shadowErrors
  const q = thresholds.latencyPercentile / 100
  const legacy = aggregate.latency.legacy.quantile(q)
  const modern = aggregate.latency.modern.quantile(q)
  const soakHours = aggregate.first === null || aggregate.last === null ? 0 : (aggregate.last - aggregate.first) / 3_600_000
  const criteria: Criterion[] = [
    {
      id: 'samples',
      met: samples >= thresholds.minSamples,
      actual: samples,
      threshold: thresholds.minSamples,
      detail: `${samples} compared samples (at least ${thresholds.minSamples})`,
    },
    {
      id: 'match-rate',
      met: thresholds.minMatchRatePercent === 0 || (interval !== null && interval.lower * 100 >= thresholds.minMatchRatePercent),
      actual: interval === null ? null : interval.lower * 100,
      threshold: thresholds.minMatchRatePercent,
      detail:
        interval === null
          ? `no compared samples (lower bound must be at least ${thresholds.minMatchRatePercent} %)`
          : `match rate ${pct(interval.value)}, 95 % lower bound ${pct(interval.lower)} (at least ${thresholds.minMatchRatePercent} %)`,
    },
    {
      id: 'conflicts',
      met: samples > 0 ? (conflicts / samples) * 100 <= thresholds.maxConflictRatePercent : conflicts === 0,
      actual: samples > 0 ? (conflicts / samples) * 100 : 0,
      threshold: thresholds.maxConflictRatePercent,
      detail:
        thresholds.maxConflictRatePercent === 0
          ? `${conflicts} genuine conflict(s) (status or body mismatch; none allowed)`
          : `${conflicts} genuine conflict(s), ${samples > 0 ? pct(conflicts / samples) : '0 %'} (at most ${thresholds.maxConflictRatePercent} %)`,
    },
    {
      id: 'shadow-errors',
      met: shadowCalls === 0 || (shadowErrors / shadowCalls) * 100 <= thresholds.maxShadowErrorRatePercent,
      actual: shadowCalls === 0 ? 0 : (shadowErrors / shadowCalls) * 100,
      threshold: thresholds.maxShadowErrorRatePercent,
      detail: `${shadowErrors} shadow error(s) in ${shadowCalls} shadow call(s)${shadowCalls > 0 ? `, ${pct(shadowErrors / shadowCalls)}` : ''} (at most ${thresholds.maxShadowErrorRatePercent} %)`,
    },
    latencyCriterion(thresholds, legacy, modern),
    {
      id: 'soak',
      met: soakHours >= thresholds.minSoakHours,
      actual: soakHours,
      threshold: thresholds.minSoakHours,
      detail: `samples span ${soakHours.toFixed(1)} h (at least ${thresholds.minSoakHours} h)`,
    },
  ]
  return { ready: criteria.every((criterion) => criterion.met), criteria }
}
