import type { ReadinessThresholds } from '../config/readiness-thresholds.ts'
import type { Evidence } from './slice-aggregate.ts'
import { acceptedOf, openBacklog, TRIAGE_NOT_READ, triageViews, type Accepted, type BacklogSignature, type SliceTriage } from './slice-triage.ts'

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
  'open-backlog',
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
  /** Differing comparisons of the evidence whose signature is accepted: neither agreement nor disagreement. */
  readonly accepted: number
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
  /** The three disagreeing families, each without its accepted comparisons. */
  readonly conflicts: number
  readonly translationDefects: number
  readonly sourceDataDefects: number
  /** Differing comparisons whose signature is accepted: set apart, in neither agreement nor disagreement. */
  readonly accepted: number
  /** Compared samples agreement is judged on: agree + the disagreeing families, accepted ones set apart. */
  readonly samples: number
  /** Pairs answered by both sides whose bodies could not be compared. */
  readonly notCompared: number
}

const NONE_ACCEPTED: Accepted = { count: 0, families: { 'genuine-conflict': 0, 'translation-defect': 0, 'source-data-defect': 0, 'missing-identity': 0 } }

export function compared(families: Evidence['families'], accepted: Accepted = NONE_ACCEPTED): Compared {
  const agree = families.match + families.noise + families['timing-lag']
  const conflicts = families['genuine-conflict'] - accepted.families['genuine-conflict']
  const translationDefects = families['translation-defect'] - accepted.families['translation-defect']
  const sourceDataDefects = families['source-data-defect'] - accepted.families['source-data-defect']
  return {
    agree,
    agreeWithoutNoise: families.match + families['timing-lag'],
    conflicts,
    translationDefects,
    sourceDataDefects,
    accepted: accepted.count,
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

const listed = (items: readonly BacklogSignature[], what: (item: BacklogSignature) => string): string =>
  items.slice(0, 3).map(what).join(', ') + (items.length > 3 ? ` and ${items.length - 3} more` : '')

/**
 * The open triage backlog of the judged evidence: no signature of it a regression, no genuine
 * conflict of it open for longer than `maxOpenConflictAgeDays`. Without triage it holds only for
 * evidence with no signature to judge: an unknown backlog never passes.
 */
function backlogCriterion(evidence: Evidence, triage: SliceTriage, thresholds: ReadinessThresholds, now: number): Criterion {
  const maxDays = thresholds.maxOpenConflictAgeDays
  const base = { id: 'open-backlog', threshold: maxDays } as const
  if (!triage.available) {
    const differing = evidence.families['genuine-conflict'] + evidence.families['translation-defect'] + evidence.families['source-data-defect']
    return differing === 0
      ? { ...base, met: true, actual: null, detail: `no differing comparison in the evidence, so no backlog (triage not read: ${triage.reason})` }
      : {
          ...base,
          met: false,
          actual: null,
          detail: `triage not read (${triage.reason}): the backlog of ${differing} differing comparison(s) cannot be judged`,
        }
  }
  const { regressions, openConflicts } = openBacklog(evidence.signatures, triageViews(triage, now), now)
  const stale = openConflicts.filter((item) => item.ageDays > maxDays)
  const oldest = openConflicts[0]?.ageDays ?? null
  const days = (item: BacklogSignature): string => `${item.id} ${item.ageDays.toFixed(1)} d`
  const problems = [
    ...(regressions.length > 0 ? [`${regressions.length} regression(s): ${listed(regressions, (item) => `${days(item)} (${item.family})`)}`] : []),
    ...(stale.length > 0 ? [`${stale.length} genuine conflict(s) open longer than ${maxDays} d: ${listed(stale, days)}`] : []),
    // Beyond the signatures the evidence keeps, a difference cannot be matched to its triage: unknown, so not met.
    ...(evidence.unsigned > 0 ? [`${evidence.unsigned} differing comparison(s) beyond the signatures the evidence keeps cannot be judged`] : []),
  ]
  const open =
    openConflicts.length === 0
      ? 'no open genuine conflict'
      : `${openConflicts.length} open genuine conflict(s), oldest ${days(openConflicts[0] as BacklogSignature)}`
  return {
    ...base,
    met: problems.length === 0,
    actual: oldest,
    detail: problems.length > 0 ? `${problems.join('; ')} (triage them)` : `${open} (at most ${maxDays} d), no regression`,
  }
}

/**
 * The readiness verdict of one slice from the evidence of its current rules in its window: every
 * criterion with its figure and threshold, so a person sees why. `window` says which evidence it
 * was (it ends the details). Differences whose signature `triage` accepts (and not past expiry) are
 * set apart: they count neither as agreement nor as disagreement. Pure.
 */
export function verdict(
  evidence: Evidence,
  thresholds: ReadinessThresholds,
  window: { rulesHash: string; from: number; to: number },
  triage: SliceTriage = TRIAGE_NOT_READ,
): Verdict {
  const counts = compared(evidence.families, acceptedOf(evidence.signatures, triageViews(triage, window.to)))
  const { samples } = counts
  const interval = wilson(counts.agree, samples)
  const shadowErrors = evidence.families['shadow-error']
  const answeredPairs = samples + counts.accepted + counts.notCompared
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
      detail: `${samples} compared samples (at least ${thresholds.minSamples})${counts.accepted > 0 ? `; ${counts.accepted} accepted difference(s) set apart` : ''}`,
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
    backlogCriterion(evidence, triage, thresholds, window.to),
  ]
  return {
    ready: criteria.every((criterion) => criterion.met),
    accepted: counts.accepted,
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
