import type { DriftRule } from '../config/types.ts'
import { compared } from './readiness.ts'
import type { SliceAggregate } from './slice-aggregate.ts'

const HOUR_MS = 3_600_000

/** The agreement of a slice since its flip, over its rule's last hours, and what it says. */
export interface Drift {
  /** Compared samples in the window. */
  readonly samples: number
  /** Agreement over them (0 … 1); null without samples. */
  readonly agreement: number | null
  /** `alerting` below the rule, `ok` at or above it, `too-few` under its samples (no judgement either way). */
  readonly state: 'alerting' | 'ok' | 'too-few'
}

/**
 * The drift of a slice's current rules over the rule's last `windowHours`, counting only whole
 * hours of evidence that start after the flip (`flippedAt`): an hour that holds answers from before
 * the flip is not judged, so the alarm is armed from the first whole hour after it. Raw agreement,
 * accepted differences included — a known difference that grows after a flip is drift too. Pure.
 */
export function driftOf(aggregate: SliceAggregate | undefined, rule: DriftRule, now: number, flippedAt: number | null): Drift {
  const from = Math.max(now - rule.windowHours * HOUR_MS, flippedAt === null ? 0 : Math.ceil(flippedAt / HOUR_MS) * HOUR_MS)
  const { agree, samples } = aggregate ? compared(aggregate.windowed(from, null).families) : { agree: 0, samples: 0 }
  const agreement = samples === 0 ? null : agree / samples
  const state = agreement === null || samples < rule.minSamples ? 'too-few' : agreement * 100 < rule.minAgreementPercent ? 'alerting' : 'ok'
  return { samples, agreement, state }
}
