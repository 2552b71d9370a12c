import type { Comparison } from '../../compare/comparison.ts'

/**
 * A record of the comparisons stream (a JSONL line, a Kafka value) as the report reads it: the
 * comparison, or undefined when the text is not one (it does not parse, or lacks the fields every
 * comparison has). Both sources read through this one function, so an event type the report should
 * tell apart is one more branch here.
 */
export function comparisonOf(text: string): Comparison | undefined {
  let record: Comparison
  try {
    record = JSON.parse(text) as Comparison
  } catch {
    return undefined
  }
  if (typeof record !== 'object' || record === null) return undefined
  if (typeof record.slice !== 'string' || typeof record.eventId !== 'string' || typeof record.category !== 'string') return undefined
  return record
}
