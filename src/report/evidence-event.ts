import { COMPARISON_EVENT_TYPE, type Comparison } from '../compare/comparison.ts'
import { SHADOW_SKIPS_EVENT_TYPE, type ComparisonsStreamEvent, type ShadowSkips } from '../publish/shadow-skips.ts'

/**
 * What a reader of the comparisons stream makes of one parsed value: evidence (a Comparison, or the
 * ShadowSkips of a slice and window), `other` — an event of a type this version does not know,
 * passed over and never counted as an invalid comparison — or `invalid` (not an event at all).
 */
export type ReadEvent = ComparisonsStreamEvent | 'other' | 'invalid'

/** Sorts a parsed value of the comparisons stream by its `eventType` (records written before it was set are comparisons). */
export function readEvent(value: unknown): ReadEvent {
  if (value === null || typeof value !== 'object') return 'invalid'
  const event = value as Record<string, unknown>
  if (typeof event.eventId !== 'string' || typeof event.slice !== 'string') return 'invalid'
  const type = event.eventType
  if (type === SHADOW_SKIPS_EVENT_TYPE)
    return typeof event.windowEnd === 'string' && event.counts !== null && typeof event.counts === 'object' ? (value as ShadowSkips) : 'invalid'
  if (type !== undefined && type !== COMPARISON_EVENT_TYPE) return typeof type === 'string' ? 'other' : 'invalid'
  return typeof event.category === 'string' ? (value as Comparison) : 'invalid'
}
