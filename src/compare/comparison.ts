import { createHmac } from 'node:crypto'
import type { Category, Family, Outcome } from './classify.ts'
import type { DiffEntry, DiffKind } from './json-diff.ts'
import { canonicalJson } from './json-diff.ts'
import { coveredBy, parsePointer, type JsonValue } from './json-pointer.ts'
import type { Untranslated } from './translate.ts'

/** Version of the Comparison record; docs/comparison.schema.json describes it. */
export const COMPARISON_SCHEMA_VERSION = 1
export const COMPARISON_EVENT_TYPE = 'ficus.comparison'

/** What caused a comparison: a client request, a reconciliation run, or the replay of a captured pair under new rules. */
export const ORIGINS = ['live', 'reconcile', 'replay'] as const
export type Origin = (typeof ORIGINS)[number]

/** Why a sampled request's shadow was not run. */
export const SKIP_REASONS = ['queue-full', 'request-body-over-cap', 'breaker-open', 'unsafe-write', 'client-closed'] as const
export type SkipReason = (typeof SKIP_REASONS)[number]

/** One side of a parallel run, as the record keeps it. */
export interface SideRecord {
  readonly side: 'legacy' | 'modern'
  readonly upstream: string
  /** Status answered; null when there was no answer (error, skipped). */
  readonly status: number | null
  readonly latencyMs: number | null
  /**
   * Salted HMAC of the body as received (content-encoded), `hmac-sha256:<32 hex>`: equal bodies give
   * equal hashes within one deployment (one salt), and nobody without the salt can confirm a guessed
   * body. Null without a body. Records before 1.2 hold `sha256:<64 hex>`.
   */
  readonly bodyHash: string | null
  readonly bodyBytes: number | null
  readonly contentType: string | null
  /** The failure, when there was one. */
  readonly error: string | null
}

export interface DiffRecord {
  /** Object keys from data hashed (`#<16 hex>`, PublishedPaths) since 1.2. */
  readonly path: string
  readonly kind: DiffKind
  /** The values, only where the slice opted in and the path is not redacted. */
  readonly legacy?: JsonValue
  readonly modern?: JsonValue
  /** Salted hashes of the values otherwise (equal values, equal hashes, within one salt). */
  readonly legacyHash?: string
  readonly modernHash?: string
}

/**
 * One parallel run of one request: the versioned integration event Ficus publishes.
 * Field by field in docs/comparison.schema.json.
 */
export interface Comparison {
  readonly schemaVersion: typeof COMPARISON_SCHEMA_VERSION
  readonly eventType: typeof COMPARISON_EVENT_TYPE
  readonly eventId: string
  /** When the comparison was complete. */
  readonly eventTime: string
  /** When the gateway received the request. */
  readonly requestTime: string
  /** Gateway time spent capturing, translating, diffing and classifying (not waiting for upstreams). */
  readonly processingMs: number
  readonly slice: string
  /** The team that owns the slice's decision (its config's `owner.team`); null when none is named. Since 1.3. */
  readonly owner: string | null
  readonly route: string
  readonly method: string
  readonly entityKey: string | null
  readonly requestId: string
  readonly traceparent: string | null
  readonly authority: string
  readonly flagVersion: number
  /**
   * Causation: the eventId of the AuthorityChanged event in force for the slice when the request was
   * routed; null while the config's initial authority holds. Since 1.4.
   */
  readonly authorityChangeId: string | null
  /**
   * What caused the comparison: `live` (a client request, `requestId`), `reconcile` (a
   * reconciliation run asked both sides) or `replay` (a captured pair judged again). Since 1.5;
   * absent from older records, which are all live.
   */
  readonly origin: Origin
  /**
   * Causation: the run id of a reconciliation, the eventId of the comparison a replay judges again;
   * null for live traffic (its cause is the client request, `requestId`). Since 1.5.
   */
  readonly causationId: string | null
  readonly configVersion: string
  readonly translationVersion: string | null
  readonly instance: string
  readonly primary: SideRecord
  readonly shadow: SideRecord
  /** Hash of the slice's effective translate, compare and model rules. */
  readonly rulesHash: string
  readonly outcome: Outcome
  readonly family: Family
  readonly category: Category
  /** Shadow error cause, skip reason, primary error, what was not comparable, the rule broken; null otherwise. */
  readonly cause: string | null
  /** True when the shadow side was asked again (timing lag check). */
  readonly reasked: boolean
  readonly reasks: number
  /** Timing lag: from the first mismatch to the answer that converged; null otherwise. */
  readonly lagMs: number | null
  readonly diff: readonly DiffRecord[]
  readonly diffTruncated: boolean
  /** Paths whose differences were put down to noise (learned from the authoritative side). */
  readonly noisePaths: readonly string[]
  /** Those differences themselves, kept so that the comparison can be judged again. */
  readonly noiseDiff: readonly DiffRecord[]
  /** Rules of the new model the translated legacy answer breaks. */
  readonly violations: readonly { readonly path: string; readonly rule: 'required' | 'values' | 'format' | 'range' | 'schema'; readonly detail: string }[]
  readonly untranslated: readonly { readonly path: string; readonly rule: string; readonly value?: JsonValue; readonly valueHash?: string }[]
}

/** Fields never published with their values, whatever a slice opts in to. */
export const ALWAYS_REDACTED = ['/headers/authorization', '/headers/proxy-authorization', '/headers/cookie', '/headers/set-cookie'] as const

export interface ValuePolicy {
  /** Publish values of diff entries (otherwise only salted hashes). */
  readonly include: boolean
  /** Paths (`/body/...`, `/headers/...`, `*` segments) whose values are never published. */
  readonly redact: readonly string[]
  /**
   * `/body/...` paths (`*` segments) whose untranslated values are published as they are (when
   * short scalars and not redacted): code lists such as legacy status codes, which are not personal.
   */
  readonly clearUntranslated: readonly string[]
  /** Secret salt of the value hashes. */
  readonly salt: string
}

const MAX_VALUE_CHARS = 200
/** Untranslated values allowed in clear are codes of mapped enumerations: published when short and scalar. */
const MAX_UNTRANSLATED_CHARS = 64
const HASH_HEX_DIGITS = 32

/** A published value: salted, so a guessed value cannot be confirmed without the deployment's salt. */
export function saltedHash(salt: string, value: JsonValue): string {
  return `hmac-sha256:${createHmac('sha256', salt).update(canonicalJson(value)).digest('hex').slice(0, HASH_HEX_DIGITS)}`
}

/**
 * A published body hash: the salted HMAC of the body's SHA-256 (`sha256:<hex>`, as captured).
 * Equal bodies stay equal within one salt; an unsalted hash would let anyone who can guess a
 * body (a policy answer is small and regular) confirm it.
 */
export function saltedBodyHash(salt: string, sha256: string): string {
  const key = `${salt}\0${sha256}`
  const known = recentBodyHashes.get(key)
  if (known !== undefined) return known
  const hash = `hmac-sha256:${createHmac('sha256', salt).update('ficus:body\0').update(sha256).digest('hex').slice(0, HASH_HEX_DIGITS)}`
  // The same bodies come back (both sides of a match, a resource read again and again): an HMAC
  // costs a key schedule each time, a lookup does not. Bounded: emptied when full.
  if (recentBodyHashes.size >= RECENT_BODY_HASHES) recentBodyHashes.clear()
  recentBodyHashes.set(key, hash)
  return hash
}

const RECENT_BODY_HASHES = 4096
const recentBodyHashes = new Map<string, string>()

function bounded(value: JsonValue): JsonValue {
  if (typeof value === 'string' && value.length > MAX_VALUE_CHARS) return `${value.slice(0, MAX_VALUE_CHARS)}…`
  if (value !== null && typeof value === 'object') {
    const text = JSON.stringify(value)
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : value
  }
  return value
}

/**
 * Applies a slice's value policy to diff entries and untranslated values (their paths are already
 * in published form, PublishedPaths). An untranslated value is published as it is only where the
 * slice opted in — its path under `clearUntranslated`, or `include` — not redacted, short and
 * scalar; hashed otherwise: an unknown code may as well be a name typed into a code field.
 */
export function publishableDiff(
  entries: readonly DiffEntry[],
  untranslated: readonly Untranslated[],
  policy: ValuePolicy,
): { diff: DiffRecord[]; untranslated: Comparison['untranslated'] } {
  const redacted = [...ALWAYS_REDACTED, ...policy.redact].map(parsePointer)
  const isRedacted = (path: string): boolean => redacted.some((pattern) => coveredBy(parsePointer(path), pattern))
  const diff = entries.map((entry): DiffRecord => {
    const showValues = policy.include && !isRedacted(entry.path)
    const out: { path: string; kind: DiffKind; legacy?: JsonValue; modern?: JsonValue; legacyHash?: string; modernHash?: string } = {
      path: entry.path,
      kind: entry.kind,
    }
    if (entry.legacy !== undefined) {
      if (showValues) out.legacy = bounded(entry.legacy)
      else out.legacyHash = saltedHash(policy.salt, entry.legacy)
    }
    if (entry.modern !== undefined) {
      if (showValues) out.modern = bounded(entry.modern)
      else out.modernHash = saltedHash(policy.salt, entry.modern)
    }
    return out
  })
  const clear = policy.clearUntranslated.map(parsePointer)
  const untranslatedOut = untranslated.map((item) => {
    const scalar = item.value === null || typeof item.value !== 'object'
    const short = typeof item.value !== 'string' || item.value.length <= MAX_UNTRANSLATED_CHARS
    const allowed = policy.include || clear.some((pattern) => coveredBy(parsePointer(item.path), pattern))
    return allowed && scalar && short && !isRedacted(item.path)
      ? { path: item.path, rule: item.rule, value: item.value }
      : { path: item.path, rule: item.rule, valueHash: saltedHash(policy.salt, item.value) }
  })
  return { diff, untranslated: untranslatedOut }
}
