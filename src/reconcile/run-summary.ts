import { FAMILIES, OUTCOMES } from '../compare/classify.ts'
import { printable } from '../text/printable-text.ts'
import type { Checkpoint } from './checkpoint.ts'
import { ERROR_FAMILIES } from './reconcile-run.ts'

/** The thresholds a run is held to (the slice's `reconcile.thresholds`, or the CLI's flags). */
export interface RunThresholds {
  readonly minAgreementPercent: number
  readonly maxErrorPercent: number
}

export interface ThresholdResult {
  readonly name: 'minAgreement' | 'maxErrorPercent'
  readonly limit: number
  /** Null when nothing was there to measure (no key compared): the threshold is then broken. */
  readonly value: number | null
  readonly met: boolean
}

/** What `ficus reconcile` prints at the end of a run (`--json`: this object) and appends to runs.jsonl. */
export interface RunSummary {
  readonly runId: string
  readonly slice: string
  readonly route: string
  readonly source: string
  readonly status: 'finished' | 'stopped'
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly keys: { readonly total: number; readonly asked: number; readonly remaining: number }
  /** Time spent asking over every session of the run, and the keys asked a second over it. */
  readonly durationMs: number
  readonly achievedRatePerSecond: number
  readonly limits: { readonly ratePerSecond: number; readonly concurrency: number }
  readonly outcomes: Readonly<Record<string, number>>
  readonly families: Readonly<Record<string, number>>
  /** Categories of the disagreeing comparisons (status-mismatch, body-mismatch, untranslated, rule-violation). */
  readonly disagreements: Readonly<Record<string, number>>
  readonly causes: Readonly<Record<string, Readonly<Record<string, number>>>>
  /** agree / (agree + disagree), in percent; null when no key was compared. */
  readonly agreementPercent: number | null
  /** Keys whose sides failed to answer (shadow-error, primary-error, shadow-skipped) over keys asked, in percent. */
  readonly errorPercent: number | null
  readonly pauses: number
  readonly thresholds: readonly ThresholdResult[]
  readonly passed: boolean
}

const DISAGREEING_CATEGORIES = ['status-mismatch', 'body-mismatch', 'untranslated', 'rule-violation'] as const
const round2 = (value: number): number => Math.round(value * 100) / 100

/** The summary of a run from its checkpoint: counts add up over every session of the run. */
export function runSummary(checkpoint: Checkpoint, limits: RunSummary['limits'], thresholds: RunThresholds): RunSummary {
  const { counts } = checkpoint
  const agree = counts.outcomes.agree ?? 0
  const compared = agree + (counts.outcomes.disagree ?? 0)
  let errors = 0
  for (const family of ERROR_FAMILIES) errors += counts.families[family] ?? 0
  const agreementPercent = compared > 0 ? round2((agree / compared) * 100) : null
  const errorPercent = counts.asked > 0 ? round2((errors / counts.asked) * 100) : null
  const checks: ThresholdResult[] = [
    {
      name: 'minAgreement',
      limit: thresholds.minAgreementPercent,
      value: agreementPercent,
      met: agreementPercent !== null && agreementPercent >= thresholds.minAgreementPercent,
    },
    {
      name: 'maxErrorPercent',
      limit: thresholds.maxErrorPercent,
      value: errorPercent,
      met: errorPercent !== null && errorPercent <= thresholds.maxErrorPercent,
    },
  ]
  const asked = checkpoint.done.watermark + checkpoint.done.above.length
  return {
    runId: checkpoint.runId,
    slice: checkpoint.slice,
    route: checkpoint.route,
    source: checkpoint.source.description,
    status: checkpoint.finishedAt === null ? 'stopped' : 'finished',
    startedAt: checkpoint.startedAt,
    finishedAt: checkpoint.finishedAt,
    keys: { total: checkpoint.totalKeys, asked, remaining: checkpoint.totalKeys - asked },
    durationMs: checkpoint.activeMs,
    achievedRatePerSecond: checkpoint.activeMs > 0 ? round2(counts.asked / (checkpoint.activeMs / 1000)) : 0,
    limits,
    outcomes: Object.fromEntries(OUTCOMES.map((outcome) => [outcome, counts.outcomes[outcome] ?? 0])),
    families: Object.fromEntries(FAMILIES.filter((family) => (counts.families[family] ?? 0) > 0).map((family) => [family, counts.families[family] ?? 0])),
    disagreements: Object.fromEntries(
      DISAGREEING_CATEGORIES.filter((category) => (counts.categories[category] ?? 0) > 0).map((category) => [category, counts.categories[category] ?? 0]),
    ),
    causes: counts.causes,
    agreementPercent,
    errorPercent,
    pauses: counts.pauses,
    thresholds: checks,
    passed: checks.every((check) => check.met),
  }
}

const counted = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .map(([name, count]) => `${name} ${count}`)
    .join(' · ') || 'none'

const percent = (value: number | null): string => (value === null ? 'n/a' : `${value.toFixed(2)}%`)

/** The summary as a person reads it at the end of a run. */
export function renderRunSummary(summary: RunSummary): string {
  const [agreement, errors] = summary.thresholds
  const compared = (summary.outcomes.agree ?? 0) + (summary.outcomes.disagree ?? 0)
  const failed = summary.keys.asked === 0 ? 0 : Math.round(((summary.errorPercent ?? 0) * summary.keys.asked) / 100)
  const verdict = (check: ThresholdResult | undefined): string => (check?.met ? 'met' : 'BROKEN')
  const lines = [
    `reconciliation run ${summary.runId} (${summary.status})`,
    `slice        ${summary.slice}  ${summary.route}`,
    `keys         ${summary.keys.asked} of ${summary.keys.total} asked from ${summary.source}${summary.keys.remaining > 0 ? ` (${summary.keys.remaining} left)` : ''}`,
    `duration     ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.achievedRatePerSecond} keys/s (limit ${summary.limits.ratePerSecond}/s, ${summary.limits.concurrency} in flight)`,
    `outcomes     ${counted(summary.outcomes)}`,
    `families     ${counted(summary.families)}`,
    `disagreeing  ${counted(summary.disagreements)}`,
    `agreement    ${percent(summary.agreementPercent)} of ${compared} compared; minimum ${agreement?.limit}%: ${verdict(agreement)}`,
    `errors       ${percent(summary.errorPercent)} (${failed} keys); maximum ${errors?.limit}%: ${verdict(errors)}`,
    `pauses       ${summary.pauses}`,
  ]
  return `${lines.map(printable).join('\n')}\n`
}

/** The thresholds a run broke, in words (the CLI's message when it exits 1). */
export function brokenThresholds(summary: RunSummary): string[] {
  return summary.thresholds
    .filter((check) => !check.met)
    .map((check) =>
      check.name === 'minAgreement'
        ? `agreement ${percent(check.value)} is below ${check.limit}%${check.value === null ? ' (no key was compared)' : ''}`
        : `errors ${percent(check.value)} are above ${check.limit}%`,
    )
}
