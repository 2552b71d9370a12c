import { readEvent, type ReadEvent } from '../evidence-event.ts'

/**
 * A record of the comparisons stream (a JSONL line, a Kafka value) as the report reads it: the
 * event sorted by its type (a Comparison, a ShadowSkips aggregate, `other` for a type this version
 * does not know), or `invalid` when the text does not parse or lacks the fields every event has.
 * Both sources read through this one function.
 */
export function eventOf(text: string): ReadEvent {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'invalid'
  }
  return readEvent(value)
}
