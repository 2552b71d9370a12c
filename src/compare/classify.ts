import { parsePointer, coveredBy } from './json-pointer.ts'
import type { DiffEntry } from './json-diff.ts'
import type { ResponseComparison } from './compare-responses.ts'

/** Why the two sides disagree (or why they were not compared), as DESIGN.md names it. */
export const CATEGORIES = ['match', 'status-mismatch', 'body-mismatch', 'untranslated', 'timing-lag', 'noise', 'shadow-error', 'shadow-skipped', 'primary-error'] as const
export type Category = (typeof CATEGORIES)[number]

/** The coarse verdict: `agree` (match, noise, timing lag), `disagree`, or `not-compared`. */
export const OUTCOMES = ['agree', 'disagree', 'not-compared'] as const
export type Outcome = (typeof OUTCOMES)[number]

export const OUTCOME_OF: Readonly<Record<Category, Outcome>> = {
  match: 'agree',
  noise: 'agree',
  'timing-lag': 'agree',
  'status-mismatch': 'disagree',
  'body-mismatch': 'disagree',
  untranslated: 'disagree',
  'shadow-error': 'not-compared',
  'shadow-skipped': 'not-compared',
  'primary-error': 'not-compared',
}

export interface Classification {
  readonly category: Category
  readonly outcome: Outcome
  /** Entries left after noise was taken out. */
  readonly entries: readonly DiffEntry[]
  /** Paths whose differences were put down to noise. */
  readonly noisePaths: readonly string[]
}

/** True when the path or an ancestor of it is among `paths`. */
function under(path: string, paths: Iterable<string>): boolean {
  const segments = parsePointer(path)
  for (const candidate of paths) if (coveredBy(segments, parsePointer(candidate))) return true
  return false
}

/**
 * Classifies a comparison of two answers. Precedence: a difference on a value the translation did
 * not know is `untranslated` (a translation defect, not a conflict); differences only on paths
 * learned as noisy are `noise`; a different status is `status-mismatch`; anything else
 * `body-mismatch`. Pure.
 */
export function classifyComparison(comparison: ResponseComparison, noisy: ReadonlySet<string>): Classification {
  const untranslatedPaths = comparison.untranslated.map((item) => item.path)
  const noisePaths: string[] = []
  const entries = comparison.entries.filter((entry) => {
    if (entry.path !== '/status' && under(entry.path, noisy)) {
      noisePaths.push(entry.path)
      return false
    }
    return true
  })
  const build = (category: Category): Classification => ({ category, outcome: OUTCOME_OF[category], entries, noisePaths })
  if (entries.some((entry) => under(entry.path, untranslatedPaths))) return build('untranslated')
  if (entries.some((entry) => entry.path === '/status')) return build('status-mismatch')
  if (entries.length > 0) return build('body-mismatch')
  return build(noisePaths.length > 0 ? 'noise' : 'match')
}

/**
 * Paths on which two answers of the *same* side differ: noise, the way Diffy cancels it. A
 * bounded set per route; once learned, differences on these paths are reported apart.
 */
export class NoiseLearner {
  readonly #paths = new Map<string, Set<string>>()
  readonly #maxPerRoute: number

  constructor(maxPerRoute = 200) {
    this.#maxPerRoute = maxPerRoute
  }

  learn(route: string, entries: readonly DiffEntry[]): void {
    let paths = this.#paths.get(route)
    if (!paths) this.#paths.set(route, (paths = new Set()))
    for (const entry of entries) {
      if (entry.path === '/status' || paths.size >= this.#maxPerRoute) continue
      paths.add(entry.path)
    }
  }

  noisy(route: string): ReadonlySet<string> {
    return this.#paths.get(route) ?? new Set()
  }
}
