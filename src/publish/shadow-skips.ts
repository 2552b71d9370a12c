import { randomUUID } from 'node:crypto'
import type { Comparison } from '../compare/comparison.ts'

export const SHADOW_SKIPS_EVENT_TYPE = 'ficus.shadow-skips'
export const SHADOW_SKIPS_SCHEMA_VERSION = 1

/**
 * Why a request of a shadowed slice had no shadow run, decided before anything of it was captured:
 * outside the slice's sample, a write the other side declares no safety for, the slice's shadow
 * breaker open, no place in the shadow queue. Counted, never recorded one by one.
 */
export const SHADOW_SKIP_CAUSES = ['sampled-out', 'unsafe-write', 'breaker-open', 'queue-full'] as const
export type ShadowSkipCause = (typeof SHADOW_SKIP_CAUSES)[number]

/**
 * The skips of one slice on one instance over one window, published on the comparisons stream
 * beside the comparisons (docs/events.md): every reader of the evidence gets them, in the same
 * order, durability and deduplication by `eventId`.
 */
export interface ShadowSkips {
  readonly schemaVersion: typeof SHADOW_SKIPS_SCHEMA_VERSION
  readonly eventType: typeof SHADOW_SKIPS_EVENT_TYPE
  readonly eventId: string
  /** When the window was closed and the event made: the end of the window. */
  readonly eventTime: string
  /** The window the counts cover, [windowStart, windowEnd). */
  readonly windowStart: string
  readonly windowEnd: string
  readonly slice: string
  /** The slice's rules version (its comparisons' `rulesHash`): the evidence the skips belong to. */
  readonly rulesHash: string
  readonly configVersion: string
  readonly instance: string
  /** Skips by cause; a cause with none is absent. */
  readonly counts: Readonly<Partial<Record<ShadowSkipCause, number>>>
  /** The sum of `counts`. */
  readonly total: number
}

/** The event of one slice's skips over [start, end). */
export function shadowSkips(
  slice: { readonly id: string; readonly rulesHash: string },
  counts: Readonly<Partial<Record<ShadowSkipCause, number>>>,
  window: { readonly start: Date; readonly end: Date },
  source: { readonly instance: string; readonly configVersion: string },
): ShadowSkips {
  let total = 0
  for (const count of Object.values(counts)) total += count
  return {
    schemaVersion: SHADOW_SKIPS_SCHEMA_VERSION,
    eventType: SHADOW_SKIPS_EVENT_TYPE,
    eventId: randomUUID(),
    eventTime: window.end.toISOString(),
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    slice: slice.id,
    rulesHash: slice.rulesHash,
    configVersion: source.configVersion,
    instance: source.instance,
    counts,
    total,
  }
}

/** True for a value that has the shape of a ShadowSkips event (a reader's type dispatch). */
export function isShadowSkips(value: { readonly eventType?: unknown }): value is ShadowSkips {
  return value.eventType === SHADOW_SKIPS_EVENT_TYPE
}

/** What the comparisons stream carries: a Comparison per parallel run, a ShadowSkips per slice and window. */
export type ComparisonsStreamEvent = Comparison | ShadowSkips
