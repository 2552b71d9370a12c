import { build, classifyComparison, type Classification } from './classify.ts'
import { compareResponses, type CompareRules, type ResponseSnapshot } from './compare-responses.ts'
import type { Violation } from './model-rules.ts'
import type { PublishedPaths } from './published-paths.ts'
import type { Untranslated } from './translate.ts'

/** The judgement of one pair of answers: the classification and what it rests on. */
export interface Judgement extends Classification {
  readonly truncated: boolean
  readonly untranslated: readonly Untranslated[]
  /** Rules of the new model the translated legacy answer breaks. */
  readonly violations: readonly Violation[]
}

/**
 * Judges a legacy and a modern answer, both decoded: translate both into the new language,
 * compare, check the legacy answer against the new model's rules, classify into a family. Bodies
 * that cannot be compared (over the capture cap, undecodable, a media type the comparer cannot
 * read) are `not-compared` with that cause — unless the statuses already differ, which is a
 * genuine conflict whatever the bodies say. With `paths`, every path is judged (and returned) in
 * its published form, data keys hashed: `noisy` must be in that form too. Pure.
 */
export function judgePair(
  legacy: ResponseSnapshot,
  modern: ResponseSnapshot,
  rules: CompareRules,
  noisy: ReadonlySet<string>,
  paths?: PublishedPaths,
): Judgement {
  const comparison = compareResponses(legacy, modern, rules, paths)
  const base = { truncated: comparison.truncated, untranslated: comparison.untranslated }
  if (comparison.notCompared !== null && !comparison.entries.some((entry) => entry.path === '/status')) {
    return { ...build('not-compared', [], [], comparison.notCompared), ...base, violations: [] }
  }
  const translated = comparison.translated
  const found = rules.model && translated ? rules.model(translated.legacy) : []
  const violations =
    paths && translated ? found.map((violation) => ({ ...violation, path: paths.path(violation.path, [translated.legacy, translated.modern]) })) : found
  return { ...classifyComparison(comparison, noisy, violations), ...base, violations }
}
