import { randomUUID } from 'node:crypto'
import { FAMILY_OF, OUTCOME_OF_FAMILY, type Category } from '../compare/classify.ts'
import {
  COMPARISON_EVENT_TYPE,
  COMPARISON_SCHEMA_VERSION,
  publishableDiff,
  saltedBodyHash,
  type Comparison,
  type Origin,
  type SideRecord,
} from '../compare/comparison.ts'
import type { CapturedBody } from '../compare/decode-body.ts'
import type { DiffEntry } from '../compare/json-diff.ts'
import type { Violation } from '../compare/model-rules.ts'
import type { Untranslated } from '../compare/translate.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, RouteConfig, SliceConfig } from '../config/types.ts'
import type { Headers } from '../http/hop-by-hop.ts'
import { mediaTypeEssence } from '../compare/header-tokens.ts'

/** One side's call as the parallel run saw it: an answer, or why there is none. */
export type SideResult =
  | {
      readonly ok: true
      readonly status: number
      readonly headers: Headers
      readonly body: CapturedBody
      readonly latencyMs: number
      readonly upstream: string
    }
  | { readonly ok: false; readonly cause: string; readonly status: number | null; readonly latencyMs: number | null; readonly upstream: string }

/** What the parallel run concluded about one request. */
export interface RunVerdict {
  readonly category: Category
  readonly cause: string | null
  readonly entries: readonly DiffEntry[]
  readonly noiseEntries: readonly DiffEntry[]
  readonly truncated: boolean
  readonly untranslated: readonly Untranslated[]
  readonly violations: readonly Violation[]
  readonly reasks: number
  readonly lagMs: number | null
}

export function verdictOf(category: Category, cause: string | null = null): RunVerdict {
  return { category, cause, entries: [], noiseEntries: [], truncated: false, untranslated: [], violations: [], reasks: 0, lagMs: null }
}

/** The request as the record tells its lineage. */
export interface RecordedRequest {
  readonly slice: SliceConfig
  readonly route: RouteConfig
  readonly method: string
  readonly entityKey: string | null
  readonly requestId: string
  readonly traceparent: string | null
  readonly requestTime: Date
  readonly primarySide: Side
  readonly authority: string
  readonly flagVersion: number
  readonly authorityChangeId: string | null
  /** What caused the run; live (a client request) unless said. */
  readonly origin?: Origin
  /** The reconciliation run, or the comparison a replay judges again. */
  readonly causationId?: string | null
  /** The event's id when it must be stable (a reconciliation key asked again after a resume); a new one otherwise. */
  readonly eventId?: string
}

export interface RecordContext {
  readonly config: GatewayConfig
  readonly instance: string
  /** Salt of every hash the record publishes: values, data keys in paths, bodies. */
  readonly salt: string
}

/** The media type alone: a header's parameters are never published (they can carry anything). */
function contentType(headers: Headers): string | null {
  const value = headers['content-type']
  return mediaTypeEssence(Array.isArray(value) ? value[0] : value)
}

/** One side as the record publishes it: the body by its salted hash only (`salt`: the deployment's). */
export function sideRecord(side: Side, result: SideResult, salt: string): SideRecord {
  if (!result.ok)
    return {
      side,
      upstream: result.upstream,
      status: result.status,
      latencyMs: result.latencyMs,
      bodyHash: null,
      bodyBytes: null,
      contentType: null,
      error: result.cause,
    }
  return {
    side,
    upstream: result.upstream,
    status: result.status,
    latencyMs: result.latencyMs,
    bodyHash: saltedBodyHash(salt, result.body.sha256),
    bodyBytes: result.body.length,
    contentType: contentType(result.headers),
    error: null,
  }
}

/** The shadow side of a run that never called it (skipped). */
export function uncalledSide(side: Side, upstream: string, reason: string | null): SideRecord {
  return { side, upstream, status: null, latencyMs: null, bodyHash: null, bodyBytes: null, contentType: null, error: reason }
}

/** The Comparison event of one parallel run: every field in one place (docs/comparisons.md). */
export function comparisonRecord(
  request: RecordedRequest,
  primary: SideRecord,
  shadow: SideRecord,
  verdict: RunVerdict,
  context: RecordContext,
  processingMs: number,
): Comparison {
  const { slice } = request
  // A match (most of a healthy run) has nothing to publish beyond its fields: no policy applied.
  const bare = verdict.entries.length === 0 && verdict.untranslated.length === 0 && verdict.noiseEntries.length === 0
  const policy = bare ? undefined : { ...slice.compare.values, salt: context.salt }
  const published = policy ? publishableDiff(verdict.entries, verdict.untranslated, policy) : { diff: [], untranslated: [] }
  const family = FAMILY_OF[verdict.category]
  return {
    schemaVersion: COMPARISON_SCHEMA_VERSION,
    eventType: COMPARISON_EVENT_TYPE,
    eventId: request.eventId ?? randomUUID(),
    eventTime: new Date().toISOString(),
    requestTime: request.requestTime.toISOString(),
    processingMs: Math.round(processingMs * 10) / 10,
    slice: slice.id,
    owner: slice.owner?.team ?? null,
    route: `${request.route.method} ${request.route.path.source}`,
    method: request.method,
    entityKey: request.entityKey,
    requestId: request.requestId,
    traceparent: request.traceparent,
    authority: request.authority,
    flagVersion: request.flagVersion,
    authorityChangeId: request.authorityChangeId,
    origin: request.origin ?? 'live',
    causationId: request.causationId ?? null,
    configVersion: context.config.version,
    translationVersion: slice.compare.translationVersion,
    instance: context.instance,
    primary,
    shadow,
    rulesHash: slice.compare.rulesHash,
    outcome: OUTCOME_OF_FAMILY[family],
    family,
    category: verdict.category,
    cause: verdict.cause,
    reasked: verdict.reasks > 0,
    reasks: verdict.reasks,
    lagMs: verdict.lagMs,
    diff: published.diff,
    diffTruncated: verdict.truncated,
    noisePaths: verdict.noiseEntries.map((entry) => entry.path),
    noiseDiff: policy && verdict.noiseEntries.length > 0 ? publishableDiff(verdict.noiseEntries, [], policy).diff : [],
    violations: verdict.violations.map((violation) => ({ path: violation.path, rule: violation.rule, detail: violation.detail })),
    untranslated: published.untranslated,
  }
}
