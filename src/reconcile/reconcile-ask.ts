import { createHash } from 'node:crypto'
import { bucketOf, chooseSide } from '../authority/sticky-bucket.ts'
import type { Comparison } from '../compare/comparison.ts'
import { NoiseEvidence } from '../compare/noise-evidence.ts'
import { PublishedPaths } from '../compare/published-paths.ts'
import type { Side } from '../config/schema.ts'
import type { SliceConfig } from '../config/types.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import type { Authority } from '../model/authority-value.ts'
import { comparisonRecord, sideRecord, uncalledSide, type RecordContext } from '../shadow/comparison-record.ts'
import { judgeRun } from '../shadow/judge-run.ts'
import { ProcessingClock } from '../shadow/processing-clock.ts'
import { callSide, type ShadowCallDeps } from '../shadow/shadow-call.ts'
import type { ShadowRequest, ShadowResult } from '../shadow/shadow-run.ts'
import type { ReconcileRoute } from './reconcile-route.ts'

/** The slice's authority as the run routes by it: read once at the start, recorded on every comparison. */
export interface RunAuthority {
  readonly authority: Authority
  readonly version: number
  readonly changeId: string | null
}

/** What asking one key needs: the parallel run's calls and judgement, the slice, the run. */
export interface AskContext {
  readonly runId: string
  readonly slice: SliceConfig
  readonly route: ReconcileRoute
  readonly authority: RunAuthority
  readonly calls: ShadowCallDeps
  readonly identity: IdentityMaps | undefined
  readonly record: RecordContext
  readonly noise: NoiseEvidence | undefined
  readonly paths: PublishedPaths
  /** Waits for the run's pace (a token) before any call to a side, re-asks included. */
  readonly paced: () => Promise<void>
}

/** The pair of answers to one key: both sides asked at once. */
export interface AskedPair {
  readonly request: ShadowRequest
  readonly primary: ShadowResult
  readonly shadow: ShadowResult
}

const otherSide = (side: Side): Side => (side === 'legacy' ? 'modern' : 'legacy')

/** The published evidence and judgement tools of a run: the slice's noise settings and published paths, as live. */
export function judgementTools(slice: SliceConfig, salt: string): { noise: NoiseEvidence | undefined; paths: PublishedPaths } {
  return {
    noise: slice.shadow ? new NoiseEvidence(slice.shadow.noise, slice.compare.critical) : undefined,
    paths: new PublishedPaths(slice.compare.keys, salt),
  }
}

/**
 * The event id of a key's comparison in a run, the same every time the key is asked in that run (a
 * resume after a crash asks it again): consumers deduplicate on it. A UUID (version 8, RFC 9562) of
 * sha256(run id, key).
 */
export function reconcileEventId(runId: string, key: string): string {
  const bytes = createHash('sha256').update('ficus-reconcile').update('\0').update(runId).update('\0').update(key).digest().subarray(0, 16)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The request a key stands for, as if a client had asked the route with the key in its path (the
 * client's vocabulary: identity maps apply as for a client). Its request id is `<runId>-<n>`, `n`
 * the key's place in the source (from 1), sent to both sides as x-request-id.
 */
export function keyRequest(context: AskContext, key: string, index: number): ShadowRequest {
  const { slice, route, authority } = context
  const value = encodeURIComponent(key)
  const params = { [route.param]: value }
  // The sticky bucket of a percentage: the slice's sticky key when the route has it, else the key itself.
  const sticky = slice.stickyKey?.from === 'param' && slice.stickyKey.name === route.param ? value : key
  return {
    slice,
    route: route.route,
    params,
    method: route.route.method,
    query: '',
    headers: {},
    requestId: `${context.runId}-${index + 1}`,
    traceparent: null,
    entityKey: key,
    requestTime: new Date(),
    primarySide: chooseSide(slice.id, authority.authority, () => sticky),
    authority: authority.authority,
    flagVersion: authority.version,
    authorityChangeId: authority.version > 0 ? authority.changeId : null,
    peerAddress: undefined,
    protocol: 'http',
    host: undefined,
  }
}

/** Both sides asked about one key, at once, each through its pool, breaker and identity map (shadow/shadow-call.ts). */
export async function askBoth(context: AskContext, request: ShadowRequest): Promise<AskedPair> {
  await context.paced()
  const [primary, shadow] = await Promise.all([
    callSide(context.calls, request, null, request.primarySide),
    callSide(context.calls, request, null, otherSide(request.primarySide)),
  ])
  return { request, primary, shadow }
}

/** The comparison of an asked pair: judged, re-asked for lag, recorded as the parallel run does, with the run as its cause. */
export async function judgeAsked(context: AskContext, pair: AskedPair, key: string): Promise<Comparison> {
  const { request, primary, shadow } = pair
  const { slice } = context
  const shadowSide = otherSide(request.primarySide)
  const clock = new ProcessingClock()
  const noiseBasisPoints = slice.shadow?.noiseBasisPoints ?? 0
  const { verdict, shadowUsed } = await judgeRun(request, primary, shadow, undefined, {
    call: async (which) => {
      await context.paced()
      return await callSide(context.calls, request, null, which === 'primary' ? request.primarySide : shadowSide)
    },
    noise: context.noise,
    doubleAsk: noiseBasisPoints >= 10_000 || (noiseBasisPoints > 0 && bucketOf(`noise:${slice.id}`, request.requestId) < noiseBasisPoints),
    paths: context.paths,
    clock,
    identity: context.identity,
  })
  const { salt } = context.record
  const shadowRecord = shadowUsed ? sideRecord(shadowSide, shadowUsed, salt) : uncalledSide(shadowSide, slice.sides[shadowSide].upstream, verdict.cause)
  const recorded = { ...request, origin: 'reconcile' as const, causationId: context.runId, eventId: reconcileEventId(context.runId, key) }
  return clock.time(() => comparisonRecord(recorded, sideRecord(request.primarySide, primary, salt), shadowRecord, verdict, context.record, clock.ms))
}

/**
 * Whether the pair must wait and be asked again rather than be recorded: a side's breaker is open
 * (no call was made), or legacy asked to slow down (429, 503).
 */
export function pauseReason(pair: AskedPair): string | undefined {
  const sides: [Side, ShadowResult][] = [
    [pair.request.primarySide, pair.primary],
    [otherSide(pair.request.primarySide), pair.shadow],
  ]
  for (const [side, result] of sides) {
    if (!result.ok && result.cause === 'breaker-open') return `${side} breaker open`
    if (side === 'legacy' && result.ok && (result.status === 429 || result.status === 503)) return `legacy answered ${result.status}`
  }
  return undefined
}
