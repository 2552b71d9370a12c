import { OUTCOME_OF } from '../compare/classify.ts'
import type { ResponseSnapshot } from '../compare/compare-responses.ts'
import { sameView } from '../compare/decode-body.ts'
import type { SkipReason } from '../compare/comparison.ts'
import { judgePair, type Judgement } from '../compare/judge-pair.ts'
import type { NoiseEvidence } from '../compare/noise-evidence.ts'
import type { PublishedPaths } from '../compare/published-paths.ts'
import type { Side } from '../config/schema.ts'
import type { ReaskSchedule, SliceConfig } from '../config/types.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import { mapBodyIds } from '../identity/map-body.ts'
import { verdictOf, type RunVerdict } from './comparison-record.ts'
import { askTwice } from './noise-learning.ts'
import { snapshot, type ProcessingClock } from './processing-clock.ts'
import { reaskUntilConverged } from './reask.ts'
import { SAFE_METHODS } from './shadow-call.ts'
import type { IdentityCause, PrimaryResult, ShadowRequest, ShadowResult } from './shadow-run.ts'

const IDENTITY_CAUSES: ReadonlySet<string> = new Set(['missing-identity', 'identity-unavailable'] satisfies IdentityCause[])

/** Decoded bodies may be this many times their capture cap (compressed JSON), no more. */
export const DECODE_FACTOR = 8

/** What judging a run needs besides its answers: calls to the sides, the slice's noise and published paths. */
export interface JudgeTools {
  /** Calls a side again (a re-ask of the shadow side, a double-ask of the authoritative one). */
  readonly call: (side: 'shadow' | 'primary') => Promise<ShadowResult>
  readonly noise: NoiseEvidence | undefined
  /** True when this request's authoritative side is asked twice (the slice's noise sample). */
  readonly doubleAsk: boolean
  readonly paths: PublishedPaths
  readonly clock: ProcessingClock
  /** Identity maps of the slice's body ids (translate.<side>.ids). */
  readonly identity: IdentityMaps | undefined
}

/** The verdict of a run and the shadow answer the record keeps (the converged one after a lag). */
export interface JudgedRun {
  readonly verdict: RunVerdict
  readonly shadowUsed: ShadowResult | undefined
}

/** A run that needs no comparison: skipped, or one side failed. Undefined when both answered. */
export function settledWithoutComparing(
  primary: PrimaryResult,
  shadowAnswer: ShadowResult | undefined,
  skipReason: SkipReason | undefined,
): JudgedRun | undefined {
  if (skipReason) return { verdict: verdictOf('shadow-skipped', skipReason), shadowUsed: undefined }
  if (!primary.ok || primary.status >= 500) return { verdict: verdictOf('primary-error', primary.ok ? '5xx' : primary.cause), shadowUsed: shadowAnswer }
  if (!shadowAnswer) return { verdict: verdictOf('shadow-error', 'error'), shadowUsed: undefined }
  // The other side knows the entity by an id the map does not give: a key-linkage problem, not an answer to judge.
  if (!shadowAnswer.ok && IDENTITY_CAUSES.has(shadowAnswer.cause)) return { verdict: verdictOf('not-compared', shadowAnswer.cause), shadowUsed: undefined }
  // An open breaker made no call: a skip, not a failure of the side.
  if (!shadowAnswer.ok && shadowAnswer.cause === 'breaker-open') return { verdict: verdictOf('shadow-skipped', 'breaker-open'), shadowUsed: undefined }
  if (!shadowAnswer.ok || shadowAnswer.status >= 500)
    return { verdict: verdictOf('shadow-error', shadowAnswer.ok ? '5xx' : shadowAnswer.cause), shadowUsed: shadowAnswer }
  return undefined
}

/**
 * The parallel run's judgement: settled at once when a side failed or was skipped; otherwise both
 * answers decoded, the authoritative side asked twice when sampled (noise evidence), the pair
 * judged (compare/judge-pair.ts), and a genuine conflict on a GET re-asked until it converges
 * (timing lag, measured) or does not.
 */
export async function judgeRun(
  request: ShadowRequest,
  primary: PrimaryResult,
  shadowAnswer: ShadowResult | undefined,
  skipReason: SkipReason | undefined,
  tools: JudgeTools,
): Promise<JudgedRun> {
  const settled = settledWithoutComparing(primary, shadowAnswer, skipReason)
  if (settled || !primary.ok || !shadowAnswer?.ok) return settled ?? { verdict: verdictOf('shadow-error', 'error'), shadowUsed: undefined }
  const { slice } = request
  const { clock } = tools
  const maxDecoded = (slice.shadow?.maxResponseBodyBytes ?? 0) * DECODE_FACTOR
  const primarySnapshot = await clock.timeAsync(() => snapshot(primary, maxDecoded))
  // The same bytes read alike: decoded and parsed once (translation and id mapping copy before they change anything).
  const shadowSnapshot = sameView(primary, shadowAnswer)
    ? { status: shadowAnswer.status, headers: shadowAnswer.headers, body: primarySnapshot.body }
    : await clock.timeAsync(() => snapshot(shadowAnswer, maxDecoded))
  if (primarySnapshot.body.kind === 'invalid-json') return { verdict: verdictOf('primary-error', 'invalid-json'), shadowUsed: shadowAnswer }
  if (shadowSnapshot.body.kind === 'invalid-json') return { verdict: verdictOf('shadow-error', 'invalid-json'), shadowUsed: shadowAnswer }
  const shadowSide = request.primarySide === 'legacy' ? 'modern' : 'legacy'
  const primaryIds = await withBodyIds(tools.identity, slice, request.primarySide, primarySnapshot)
  const shadowIds = await withBodyIds(tools.identity, slice, shadowSide, shadowSnapshot)
  if (typeof primaryIds === 'string' || typeof shadowIds === 'string')
    return { verdict: verdictOf('not-compared', typeof primaryIds === 'string' ? primaryIds : (shadowIds as IdentityCause)), shadowUsed: shadowAnswer }

  const routeKey = `${request.route.method} ${request.route.path.source}`
  const safe = SAFE_METHODS.has(request.method)
  if (safe && tools.noise && tools.doubleAsk) {
    await askTwice(request, primarySnapshot, routeKey, { noise: tools.noise, paths: tools.paths, askAgain: () => tools.call('primary'), maxDecoded, clock })
  }
  const judge = (shadowSnap: ResponseSnapshot): Judgement => {
    const [legacy, modern] = request.primarySide === 'legacy' ? [primaryIds, shadowSnap] : [shadowSnap, primaryIds]
    return clock.time(() => judgePair(legacy, modern, slice.compare.rules, tools.noise?.noisy(routeKey, Date.now()) ?? new Set(), tools.paths))
  }
  const first = judge(shadowIds)
  const reask = slice.shadow?.reask
  if (!safe || !reask || first.family !== 'genuine-conflict')
    return { verdict: { ...verdictBase(first), category: first.category, reasks: 0, lagMs: null }, shadowUsed: shadowAnswer }
  return await reaskForLag(reask, first, shadowAnswer, async () => {
    const again = await tools.call('shadow')
    if (!again.ok || again.status >= 500) return undefined
    const snap = await withBodyIds(tools.identity, slice, shadowSide, await clock.timeAsync(() => snapshot(again, maxDecoded)))
    return typeof snap === 'string' ? undefined : { again, judgement: judge(snap) }
  })
}

/** A side's answer with the ids in its body mapped to the other side's (translate.<side>.ids), or why they could not be. */
export async function withBodyIds(
  identity: IdentityMaps | undefined,
  slice: SliceConfig,
  side: Side,
  snap: ResponseSnapshot,
): Promise<ResponseSnapshot | IdentityCause> {
  const rules = slice.compare.bodyIds[side]
  if (rules.length === 0 || snap.body.kind !== 'json') return snap
  if (!identity) return 'identity-unavailable'
  const mapped = await mapBodyIds(identity, rules, side === 'legacy' ? 'to-modern' : 'to-legacy', snap.body.value)
  return mapped.kind === 'mapped' ? { ...snap, body: { kind: 'json', value: mapped.body } } : mapped.kind
}

/** What a verdict takes from the first judgement of the pair. */
export function verdictBase(first: Judgement): Omit<RunVerdict, 'category' | 'reasks' | 'lagMs'> {
  const { cause, entries, noiseEntries, truncated, untranslated, violations } = first
  return { cause, entries, noiseEntries, truncated, untranslated, violations }
}

/**
 * Timing lag: a genuine conflict on a read, the other side asked again on the backoff schedule; the
 * time it took to converge is the lag. Not converged: the conflict stands, `not-converged`.
 */
async function reaskForLag(
  reask: ReaskSchedule,
  first: Judgement,
  shadowAnswer: ShadowResult,
  askAgain: () => Promise<{ again: ShadowResult; judgement: Judgement } | undefined>,
): Promise<JudgedRun> {
  const base = verdictBase(first)
  const reasked = await reaskUntilConverged(reask, askAgain, ({ judgement }) => OUTCOME_OF[judgement.category] === 'agree')
  if (!reasked.converged)
    return { verdict: { ...base, category: first.category, cause: 'not-converged', reasks: reasked.reasks, lagMs: null }, shadowUsed: shadowAnswer }
  const { converged } = reasked
  return {
    verdict: { ...base, category: 'timing-lag', cause: null, noiseEntries: converged.judgement.noiseEntries, reasks: reasked.reasks, lagMs: reasked.lagMs },
    shadowUsed: converged.again,
  }
}
