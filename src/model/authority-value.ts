import { SIDES, type Side } from './sides.ts'

/**
 * Who answers a slice: one side, or a sticky percentage of modern traffic written `"25%"`
 * (0–100, up to two decimals: 0.01 % is the finest step).
 */
export type Authority = Side | `${number}%`

/** 100 % in basis points: the bucket space of sticky rollouts. */
export const BUCKETS = 10_000

const PERCENT = /^(\d{1,3})(?:\.(\d{1,2}))?%$/

export type ParsedAuthority = { ok: true; authority: Authority; modernBasisPoints: number } | { ok: false; error: string }

/** What an authority value may be, in words. */
export const AUTHORITY_VALUES = '"legacy", "modern" or a percentage of modern traffic from "0%" to "100%" in steps of 0.01'

/** Parses and canonicalises an authority value (`"25.50%"` → `"25.5%"`). */
export function parseAuthority(value: unknown): ParsedAuthority {
  if (value === 'legacy') return { ok: true, authority: 'legacy', modernBasisPoints: 0 }
  if (value === 'modern') return { ok: true, authority: 'modern', modernBasisPoints: BUCKETS }
  const match = typeof value === 'string' ? PERCENT.exec(value.trim()) : null
  if (match) {
    const basisPoints = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
    if (basisPoints <= BUCKETS) return { ok: true, authority: formatPercent(basisPoints), modernBasisPoints: basisPoints }
  }
  return {
    ok: false,
    error: `must be ${AUTHORITY_VALUES} (got ${JSON.stringify(value) ?? 'nothing'})`,
  }
}

export function formatPercent(basisPoints: number): `${number}%` {
  return `${Number((basisPoints / 100).toFixed(2))}%`
}

/** Share of traffic the modern side answers, in basis points (0 … 10 000). */
export function modernBasisPoints(authority: Authority): number {
  const parsed = parseAuthority(authority)
  return parsed.ok ? parsed.modernBasisPoints : 0
}

/** True for a percentage rollout (which needs a bucket key per request). */
export function isRollout(authority: Authority): authority is `${number}%` {
  return !(SIDES as readonly string[]).includes(authority)
}
