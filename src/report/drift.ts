import type { DriftRule } from '../config/types.ts'
import { compared } from './readiness.ts'
import type { SliceAggregate } from './slice-aggregate.ts'

const HOUR_MS = 3_600_000

/** The agreement of a slice's last hours, and whether it breaks its drift rule. */
export interface Drift {
  /** Compared samples in the window. */
  readonly samples: number
  /** Agreement over them (0 … 1); null without samples. */
  readonly agreement: number | null
  /** Below the rule's agreement over at least its samples. */
  readonly alerting: boolean
}

/**
 * The drift of a slice's current rules over the rule's last `windowHours` (whole hours of
 * evidence): raw agreement, accepted differences included — a known difference that grows after a
 * flip is drift too. Pure.
 */
export function driftOf(aggregate: SliceAggregate | undefined, rule: DriftRule, now: number): Drift {
  if (!aggregate) return { samples: 0, agreement: null, alerting: false }
  const { agree, samples } = compared(aggregate.windowed(now - rule.windowHours * HOUR_MS, null).families)
  const agreement = samples === 0 ? null : agree / samples
  return { samples, agreement, alerting: agreement !== null && samples >= rule.minSamples && agreement * 100 < rule.minAgreementPercent }
}
