import { createHash } from 'node:crypto'
import type { Family } from '../compare/classify.ts'
import type { Comparison } from '../compare/comparison.ts'
import { canonicalJson } from '../compare/json-diff.ts'
import { generalise } from '../compare/noise-evidence.ts'

/** The comparison families a register keeps: the comparisons that differ (outcome `disagree`). */
const DIFFERING_FAMILIES = ['genuine-conflict', 'translation-defect', 'source-data-defect'] as const satisfies readonly Family[]
/**
 * What a register keeps: the differing families, and `missing-identity` — the comparisons not made
 * because an identity map had no id for the other side (a key-linkage problem to work, not a difference).
 */
export const REGISTERED_FAMILIES = [...DIFFERING_FAMILIES, 'missing-identity'] as const
export type RegisteredFamily = (typeof REGISTERED_FAMILIES)[number]

/** At most this many paths name a signature; a difference on more is the same signature as its first ones. */
export const MAX_SIGNATURE_PATHS = 20

/**
 * What makes two differences the same discrepancy: the slice and route, the family, the JSON paths
 * involved (array indexes generalised to `*`, sorted), and for a translation defect the value that
 * has no translation (in clear, or its hash when values are not published).
 */
export interface DiscrepancySignature {
  /**
   * Stable id: the first 16 hex digits of the SHA-256, in canonical JSON, of the slice, route and
   * family, every generalised path (not only the first MAX_SIGNATURE_PATHS shown), every
   * untranslated value of a translation defect, and whether the diff was truncated.
   */
  readonly id: string
  readonly slice: string
  /** `GET /pas/v1/policy/:policyNumber/status` */
  readonly route: string
  readonly family: RegisteredFamily
  readonly paths: readonly string[]
  /** Translation defects only: the untranslated value (JSON text) or its hash; null otherwise. */
  readonly value: string | null
}

/** The register family of a comparison; undefined for one that agrees or was not compared for another cause. */
function registeredFamily(record: Comparison): RegisteredFamily | undefined {
  if (record.family === 'not-compared' && record.cause === 'missing-identity') return 'missing-identity'
  return (DIFFERING_FAMILIES as readonly string[]).includes(record.family) ? (record.family as RegisteredFamily) : undefined
}

/**
 * The signature of a comparison that differs, or that an identity map kept from being made (one
 * signature per slice and route: no paths); undefined otherwise. Pure.
 */
export function signatureOf(record: Comparison): DiscrepancySignature | undefined {
  const family = registeredFamily(record)
  if (family === undefined) return undefined
  let paths: string[]
  let value: string | null = null
  if (family === 'translation-defect') {
    paths = record.untranslated.map((entry) => entry.path)
    const first = record.untranslated[0]
    if (first) value = first.value !== undefined ? canonicalJson(first.value) : (first.valueHash ?? null)
  } else if (family === 'source-data-defect') {
    paths = record.violations.map((violation) => `${violation.path} (${violation.rule})`)
  } else if (family === 'missing-identity') {
    paths = []
  } else {
    paths = record.diff.map((entry) => entry.path)
  }
  const all = [...new Set(paths.map(generalisePath))].sort()
  const fields = { slice: record.slice, route: record.route, family, paths: all.slice(0, MAX_SIGNATURE_PATHS), value }
  // The id covers the whole difference, not only what is shown: every path, every untranslated
  // value, and whether the diff was cut — accepting one signature never accepts a wider difference.
  const identity = {
    slice: record.slice,
    route: record.route,
    family,
    paths: all,
    values: family === 'translation-defect' ? untranslatedValues(record) : [],
    truncated: record.diffTruncated,
  }
  return { id: createHash('sha256').update(canonicalJson(identity)).digest('hex').slice(0, 16), ...fields }
}

/** Every untranslated value of a translation defect with its generalised path, sorted, once each. */
function untranslatedValues(record: Comparison): string[] {
  const values = record.untranslated.map(
    (entry) => `${generalisePath(entry.path)}=${entry.value !== undefined ? canonicalJson(entry.value) : (entry.valueHash ?? '')}`,
  )
  return [...new Set(values)].sort()
}

/** A JSON pointer with array indexes as `*`; a violation's "(rule)" suffix is kept. */
function generalisePath(path: string): string {
  const suffix = / \([a-z]+\)$/.exec(path)?.[0] ?? ''
  const pointer = suffix === '' ? path : path.slice(0, -suffix.length)
  try {
    return generalise(pointer) + suffix
  } catch {
    return pointer + suffix
  }
}
