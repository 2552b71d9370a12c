import { build, classifyComparison, type Classification } from './classify.ts'
import { compareResponses, type CompareRules, type ResponseSnapshot } from './compare-responses.ts'
import type { Violation } from './model-rules.ts'
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
 * genuine conflict whatever the bodies say. Pure.
 */
export function judgePair(legacy: ResponseSnapshot, modern: ResponseSnapshot, rules: CompareRules, noisy: ReadonlySet<string>): Judgement {
  const comparison = compareResponses(legacy, modern, rules)
  const base = { truncated: comparison.truncated, untranslated: comparison.untranslated }
  if (comparison.notCompared !== null && !comparison.entries.some((entry) => entry.path === '/status')) {
    return { ...build('not-compared', [], [], comparison.notCompared), ...base, violations: [] }
  }
  const violations = rules.model && comparison.translated ? rules.model(comparison.translated.legacy) : []
  return { ...classifyComparison(comparison, noisy, violations), ...base, violations }
}
