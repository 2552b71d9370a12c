import { coveredBy, parsePointer } from './json-pointer.ts'
import type { DiffEntry } from './json-diff.ts'
import type { ResponseComparison } from './compare-responses.ts'
import type { Violation } from './model-rules.ts'

/**
 * Why the two sides disagree, or why they were not compared — the families the migration
 * literature uses ("Families and categories" in docs/comparisons.md), plus what was never a comparison of two answers:
 * - `timing-lag`: the other side converged when asked again (the lag is measured);
 * - `translation-defect`: a value with no mapping, a failed coercion, a translation that threw;
 * - `source-data-defect`: the legacy answer breaks a rule the slice declares about the new model;
 * - `genuine-conflict`: status or body still differ after translation;
 * - `noise`: differences only on paths the authoritative side itself does not answer consistently;
 * - `not-compared`: over the capture cap, undecodable, or a media type the comparer cannot read;
 * - `shadow-error`, `shadow-skipped`, `primary-error`: no pair of answers to compare.
 */
export const FAMILIES = [
  'match',
  'noise',
  'timing-lag',
  'translation-defect',
  'source-data-defect',
  'genuine-conflict',
  'not-compared',
  'shadow-error',
  'shadow-skipped',
  'primary-error',
] as const
export type Family = (typeof FAMILIES)[number]

/** The finer category of a comparison, beside its family (`body-mismatch`, `untranslated`, ...). */
export const CATEGORIES = [
  'match',
  'status-mismatch',
  'body-mismatch',
  'untranslated',
  'timing-lag',
  'noise',
  'shadow-error',
  'shadow-skipped',
  'primary-error',
  'rule-violation',
  'not-compared',
] as const
export type Category = (typeof CATEGORIES)[number]

/** The family each category belongs to. */
export const FAMILY_OF: Readonly<Record<Category, Family>> = {
  match: 'match',
  noise: 'noise',
  'timing-lag': 'timing-lag',
  untranslated: 'translation-defect',
  'rule-violation': 'source-data-defect',
  'status-mismatch': 'genuine-conflict',
  'body-mismatch': 'genuine-conflict',
  'not-compared': 'not-compared',
  'shadow-error': 'shadow-error',
  'shadow-skipped': 'shadow-skipped',
  'primary-error': 'primary-error',
}

/** The coarse verdict: `agree`, `disagree`, or `not-compared` (no pair of answers was judged). */
export const OUTCOMES = ['agree', 'disagree', 'not-compared'] as const
export type Outcome = (typeof OUTCOMES)[number]

export const OUTCOME_OF_FAMILY: Readonly<Record<Family, Outcome>> = {
  match: 'agree',
  noise: 'agree',
  'timing-lag': 'agree',
  'translation-defect': 'disagree',
  'source-data-defect': 'disagree',
  'genuine-conflict': 'disagree',
  'not-compared': 'not-compared',
  'shadow-error': 'not-compared',
  'shadow-skipped': 'not-compared',
  'primary-error': 'not-compared',
}

export const OUTCOME_OF: Readonly<Record<Category, Outcome>> = Object.fromEntries(
  CATEGORIES.map((category) => [category, OUTCOME_OF_FAMILY[FAMILY_OF[category]]]),
) as Record<Category, Outcome>

export interface Classification {
  readonly category: Category
  readonly family: Family
  readonly outcome: Outcome
  /** Entries left after noise was taken out. */
  readonly entries: readonly DiffEntry[]
  /** Entries put down to noise: kept, so the comparison can be judged again. */
  readonly noiseEntries: readonly DiffEntry[]
  /** The rule a source-data defect broke (`required /body/policyNumber`); null otherwise. */
  readonly cause: string | null
}

/** True when `path` and one of `paths` lie on one branch (either covers the other). */
function related(path: string, paths: readonly (readonly string[])[]): boolean {
  const segments = parsePointer(path)
  return paths.some((candidate) => coveredBy(segments, candidate) || coveredBy(candidate, segments))
}

/** True when the path or an ancestor of it is among `paths`. */
function under(path: string, paths: readonly (readonly string[])[]): boolean {
  const segments = parsePointer(path)
  return paths.some((candidate) => coveredBy(segments, candidate))
}

export function build(
  category: Category,
  entries: readonly DiffEntry[] = [],
  noiseEntries: readonly DiffEntry[] = [],
  cause: string | null = null,
): Classification {
  const family = FAMILY_OF[category]
  return { category, family, outcome: OUTCOME_OF_FAMILY[family], entries, noiseEntries, cause }
}

/**
 * Classifies the comparison of two answers. Differences on noisy paths (never `/status`, never a
 * critical path) are set aside first. Then, in order: a difference on a value the translation
 * could not carry over is a translation defect; one on a value the legacy answer holds against the
 * new model's rules is a source-data defect; any other difference is a genuine conflict (status or
 * body). Nothing left: `match`, or `noise` when something was set aside. Pure.
 */
export function classifyComparison(comparison: ResponseComparison, noisy: ReadonlySet<string>, violations: readonly Violation[] = []): Classification {
  const noisyPaths = [...noisy].map(parsePointer)
  const entries: DiffEntry[] = []
  const noiseEntries: DiffEntry[] = []
  for (const entry of comparison.entries) {
    if (entry.path !== '/status' && under(entry.path, noisyPaths)) noiseEntries.push(entry)
    else entries.push(entry)
  }
  const untranslated = comparison.untranslated.map((item) => parsePointer(item.path))
  if (entries.some((entry) => under(entry.path, untranslated))) return build('untranslated', entries, noiseEntries)
  const violated = violations.find((violation) => entries.some((entry) => related(entry.path, [parsePointer(violation.path)])))
  if (violated) return build('rule-violation', entries, noiseEntries, `${violated.rule} ${violated.path}`)
  if (entries.some((entry) => entry.path === '/status')) return build('status-mismatch', entries, noiseEntries)
  if (entries.length > 0) return build('body-mismatch', entries, noiseEntries)
  return build(noiseEntries.length > 0 ? 'noise' : 'match', entries, noiseEntries)
}
