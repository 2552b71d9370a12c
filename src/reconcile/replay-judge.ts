import { createHash } from 'node:crypto'
import type { CapturedAnswer, CapturedPair } from '../capture/captured-pair.ts'
import { FAMILY_OF, OUTCOME_OF } from '../compare/classify.ts'
import type { Comparison, SideRecord } from '../compare/comparison.ts'
import type { Judgement } from '../compare/judge-pair.ts'
import { judgePair } from '../compare/judge-pair.ts'
import type { PublishedPaths } from '../compare/published-paths.ts'
import { DEFAULT_MAX_RESPONSE_BODY_BYTES } from '../config/defaults.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, RouteConfig, SliceConfig } from '../config/types.ts'
import type { Headers } from '../http/hop-by-hop.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import { sha256 } from '../shadow/body-capture.ts'
import { comparisonRecord, verdictOf, type RunVerdict, type SideResult } from '../shadow/comparison-record.ts'
import { DECODE_FACTOR, settledWithoutComparing, verdictBase, withBodyIds } from '../shadow/judge-run.ts'
import { ProcessingClock, snapshot } from '../shadow/processing-clock.ts'

/** Why a captured pair was not judged again. */
export const REPLAY_SKIPS = ['route-gone', 'other-slice', 'capture-inconsistent'] as const
export type ReplaySkip = (typeof REPLAY_SKIPS)[number]

/** What judging a captured pair again needs: the rules to judge it under and the deployment's salt. */
export interface ReplayContext {
  /** The config whose rules judge the pair (the current one, or a candidate). */
  readonly config: GatewayConfig
  readonly slice: SliceConfig
  /** Published paths of the slice under that config, hashed with the deployment's salt. */
  readonly paths: PublishedPaths
  /** Identity maps of the slice's body ids (translate.<side>.ids), opened as the gateway opens them. */
  readonly identity: IdentityMaps | undefined
  readonly salt: string
  /** The process that judges again (`instance` of the records it makes). */
  readonly instance: string
}

export type Replayed = { readonly kind: 'judged'; readonly record: Comparison } | { readonly kind: 'skipped'; readonly reason: ReplaySkip }

/**
 * The event id of a replay: a UUID (version 8, RFC 9562) made from the replayed comparison's event
 * id and the rules hash it is judged under, so that recomparing twice publishes the same ids and
 * consumers count each replay once.
 */
export function replayEventId(originalEventId: string, rulesHash: string): string {
  const hex = createHash('sha256').update('ficus:replay\0').update(originalEventId).update('\0').update(rulesHash).digest('hex')
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** A side that answered, as the parallel run holds it. */
type Answered = Extract<SideResult, { readonly ok: true }>

function otherSide(side: Side): Side {
  return side === 'legacy' ? 'modern' : 'legacy'
}

/** A captured answer as the parallel run had it (its latency and upstream are the original record's). */
function sideResult(answer: CapturedAnswer, recorded: SideRecord): Answered {
  const headers: Headers = {}
  for (const [name, value] of Object.entries(answer.headers)) headers[name] = typeof value === 'string' ? value : [...value]
  const bytes = Buffer.from(answer.body, 'base64')
  return {
    ok: true,
    status: answer.status,
    headers,
    body: { bytes, complete: answer.complete, length: answer.length, sha256: answer.sha256 },
    latencyMs: recorded.latencyMs ?? 0,
    upstream: recorded.upstream,
  }
}

/** A whole body whose bytes are not the ones its hash names: the capture cannot be trusted. */
function inconsistent(result: Answered): boolean {
  if (!result.body.complete) return false
  return result.body.bytes.length !== result.body.length || sha256(result.body.bytes) !== result.body.sha256
}

/**
 * The verdict of the first judgement, kept in its lineage: a timing lag the replay agrees with
 * stays a timing lag (its lag was measured live, the captured answer is the converged one), and a
 * conflict that did not converge when asked again keeps its re-asks.
 */
function inLineage(original: Comparison, judgement: Judgement): RunVerdict {
  const base = verdictBase(judgement)
  if (original.family === 'timing-lag' && OUTCOME_OF[judgement.category] === 'agree')
    return { ...base, category: 'timing-lag', cause: null, reasks: original.reasks, lagMs: original.lagMs }
  if (original.cause === 'not-converged' && FAMILY_OF[judgement.category] === 'genuine-conflict')
    return { ...base, category: judgement.category, cause: 'not-converged', reasks: original.reasks, lagMs: null }
  return { ...base, category: judgement.category, reasks: 0, lagMs: null }
}

/**
 * Judges both captured answers exactly as the parallel run does (judge-run.ts): a failed side
 * settles the pair, both bodies decoded within the same bound, body ids mapped, the pair judged with
 * the slice's rules and the original comparison's noise paths. No side is called: there is no
 * double-ask and no re-ask.
 */
async function replayVerdict(pair: CapturedPair, primary: Answered, shadow: Answered, context: ReplayContext, clock: ProcessingClock): Promise<RunVerdict> {
  const settled = settledWithoutComparing(primary, shadow, undefined)
  if (settled) return settled.verdict
  const { slice } = context
  const maxDecoded = (slice.shadow?.maxResponseBodyBytes ?? DEFAULT_MAX_RESPONSE_BODY_BYTES) * DECODE_FACTOR
  const primarySnapshot = await clock.timeAsync(() => snapshot(primary, maxDecoded))
  const shadowSnapshot = await clock.timeAsync(() => snapshot(shadow, maxDecoded))
  if (primarySnapshot.body.kind === 'invalid-json') return verdictOf('primary-error', 'invalid-json')
  if (shadowSnapshot.body.kind === 'invalid-json') return verdictOf('shadow-error', 'invalid-json')
  const primaryIds = await withBodyIds(context.identity, slice, pair.primarySide, primarySnapshot)
  const shadowIds = await withBodyIds(context.identity, slice, otherSide(pair.primarySide), shadowSnapshot)
  if (typeof primaryIds === 'string') return verdictOf('not-compared', primaryIds)
  if (typeof shadowIds === 'string') return verdictOf('not-compared', shadowIds)
  const [legacy, modern] = pair.primarySide === 'legacy' ? [primaryIds, shadowIds] : [shadowIds, primaryIds]
  const noisy = new Set(pair.comparison.noisePaths)
  const judgement = clock.time(() => judgePair(legacy, modern, slice.compare.rules, noisy, context.paths))
  return inLineage(pair.comparison, judgement)
}

function routeOf(slice: SliceConfig, route: string): RouteConfig | undefined {
  return slice.routes.find((candidate) => `${candidate.method} ${candidate.path.source}` === route)
}

/**
 * A captured pair judged again under the context's rules: the comparison it would be now, with the
 * original's lineage (request, authority, both sides' records: latencies, statuses, body hashes),
 * `origin: 'replay'` and the original's event id as its causation. Skipped when the config no
 * longer has its route, or the capture does not hold together.
 */
export async function replayPair(pair: CapturedPair, context: ReplayContext): Promise<Replayed> {
  const { slice } = context
  if (pair.slice !== slice.id) return { kind: 'skipped', reason: 'other-slice' }
  const route = routeOf(slice, pair.route)
  if (!route) return { kind: 'skipped', reason: 'route-gone' }
  const original = pair.comparison
  const shadowSide = otherSide(pair.primarySide)
  const primary = sideResult(pair[pair.primarySide], original.primary)
  const shadow = sideResult(pair[shadowSide], original.shadow)
  if (inconsistent(primary) || inconsistent(shadow)) return { kind: 'skipped', reason: 'capture-inconsistent' }
  const clock = new ProcessingClock()
  const verdict = await replayVerdict(pair, primary, shadow, context, clock)
  const request = {
    slice,
    route,
    method: original.method,
    entityKey: original.entityKey,
    requestId: original.requestId,
    traceparent: original.traceparent,
    requestTime: new Date(original.requestTime),
    primarySide: pair.primarySide,
    authority: original.authority,
    flagVersion: original.flagVersion,
    authorityChangeId: original.authorityChangeId ?? null,
    origin: 'replay' as const,
    causationId: original.eventId,
    eventId: replayEventId(original.eventId, slice.compare.rulesHash),
  }
  const record = clock.time(() => comparisonRecord(request, original.primary, original.shadow, verdict, context, clock.ms))
  return { kind: 'judged', record }
}
