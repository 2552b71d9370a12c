import type { ReadinessThresholds } from '../config/readiness-thresholds.ts'
import type { Evidence } from './slice-aggregate.ts'

export { DEFAULT_READINESS, type ReadinessThresholds } from '../config/readiness-thresholds.ts'

export const CRITERIA = [
  'samples',
  'match-rate',
  'conflicts',
  'translation-defects',
  'source-data-defects',
  'not-compared',
  'shadow-errors',
  'lag-rate',
  'lag-p95',
  'latency',
  'soak',
] as const
export type CriterionId = (typeof CRITERIA)[number]

export interface Criterion {
  readonly id: CriterionId
  readonly met: boolean
  /** One line a person reads: the figure, the threshold, and the evidence it was judged on. */
  readonly detail: string
  readonly actual: number | null
  readonly threshold: number
}

export interface Verdict {
  readonly ready: boolean
  /** The evidence judged: the rules version and the window. */
  readonly evidence: { readonly rulesHash: string; readonly from: string; readonly to: string; readonly windowDays: number }
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

/** The counts agreement is taken over. */
export interface Compared {
  /** match + noise + timing lag. */
  readonly agree: number
  /** match + timing lag: agreement when noise is not forgiven. */
  readonly agreeWithoutNoise: number
  readonly conflicts: number
  readonly translationDefects: number
  readonly sourceDataDefects: number
  /** Compared samples: every pair judged (agree or one of the three disagreeing families). */
  readonly samples: number
  /** Pairs answered by both sides whose bodies could not be compared. */
  readonly notCompared: number
}

export function compared(families: Evidence['families']): Compared {
  const agree = families.match + families.noise + families['timing-lag']
  const conflicts = families['genuine-conflict']
  const translationDefects = families['translation-defect']
  const sourceDataDefects = families['source-data-defect']
  return {
    agree,
    agreeWithoutNoise: families.match + families['timing-lag'],
    conflicts,
    translationDefects,
    sourceDataDefects,
    samples: agree + conflicts + translationDefects + sourceDataDefects,
    notCompared: families['not-compared'],
  }
}

const pct = (value: number): string => `${(value * 100).toFixed(2)} %`
const rate = (count: number, of: number): number => (of === 0 ? 0 : (count / of) * 100)

function rateCriterion(id: CriterionId, what: string, count: number, of: number, ofWhat: string, maxPercent: number): Criterion {
  const actual = rate(count, of)
  return {
    id,
    met: of === 0 ? count === 0 : actual <= maxPercent,
    actual,
    threshold: maxPercent,
    detail: `${count} ${what} in ${of} ${ofWhat}${of > 0 ? `, ${pct(count / of)}` : ''} (${maxPercent === 0 ? 'none allowed' : `at most ${maxPercent} %`})`,
  }
}

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

/**
 * The readiness verdict of one slice from the evidence of its current rules in its window: every
 * criterion with its figure and threshold, so a person sees why. `window` says which evidence it
 * was (it ends the details). Pure.
 */
export function verdict(evidence: Evidence, thresholds: ReadinessThresholds, window: { rulesHash: string; from: number; to: number }): Verdict {
  const counts = compared(evidence.families)
  const { samples } = counts
  const interval = wilson(counts.agree, samples)
  const shadowErrors = evidence.families['shadow-error']
  const answeredPairs = samples + counts.notCompared
  const shadowCalls = answeredPairs + shadowErrors
  const lags = evidence.families['timing-lag']
  const lagP95 = evidence.lag.quantile(0.95)
  const q = thresholds.latencyPercentile / 100
  const legacy = evidence.latency.legacy.quantile(q)
  const modern = evidence.latency.modern.quantile(q)
  const soakHours = evidence.first === null || evidence.last === null ? 0 : (evidence.last - evidence.first) / 3_600_000
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
          : `agreement ${pct(interval.value)}, 95 % lower bound ${pct(interval.lower)} (at least ${thresholds.minMatchRatePercent} %); without forgiving noise ${pct(counts.agreeWithoutNoise / samples)}`,
    },
    rateCriterion('conflicts', 'genuine conflict(s)', counts.conflicts, samples, 'compared samples', thresholds.maxConflictRatePercent),
    rateCriterion(
      'translation-defects',
      'translation defect(s)',
      counts.translationDefects,
      samples,
      'compared samples',
      thresholds.maxTranslationDefectRatePercent,
    ),
    rateCriterion(
      'source-data-defects',
      'source-data defect(s)',
      counts.sourceDataDefects,
      samples,
      'compared samples',
      thresholds.maxSourceDataDefectRatePercent,
    ),
    rateCriterion('not-compared', 'answer pair(s) not compared', counts.notCompared, answeredPairs, 'answered pairs', thresholds.maxNotComparedRatePercent),
    rateCriterion('shadow-errors', 'shadow error(s)', shadowErrors, shadowCalls, 'shadow call(s)', thresholds.maxShadowErrorRatePercent),
    rateCriterion('lag-rate', 'timing lag(s)', lags, samples, 'compared samples', thresholds.maxLagRatePercent),
    {
      id: 'lag-p95',
      met: lagP95 === null || lagP95 <= thresholds.maxLagP95Ms,
      actual: lagP95,
      threshold: thresholds.maxLagP95Ms,
      detail:
        lagP95 === null
          ? `no timing lag measured (p95 at most ${thresholds.maxLagP95Ms} ms)`
          : `lag p95 ${lagP95.toFixed(0)} ms over ${evidence.lag.count} lag(s) (at most ${thresholds.maxLagP95Ms} ms)`,
    },
    latencyCriterion(thresholds, legacy, modern),
    {
      id: 'soak',
      met: soakHours >= thresholds.minSoakHours,
      actual: soakHours,
      threshold: thresholds.minSoakHours,
      detail: `samples span ${soakHours.toFixed(1)} h of the window (at least ${thresholds.minSoakHours} h)`,
    },
  ]
  return {
    ready: criteria.every((criterion) => criterion.met),
    evidence: {
      rulesHash: window.rulesHash,
      from: new Date(window.from).toISOString(),
      to: new Date(window.to).toISOString(),
      windowDays: thresholds.windowDays,
    },
    criteria,
  }
}

/** The evidence window of a verdict made at `now`. */
export function evidenceWindow(thresholds: ReadinessThresholds, now: number): { from: number; to: number } {
  return { from: now - thresholds.windowDays * 24 * 3_600_000, to: now }
}
