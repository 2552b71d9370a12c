import { performance } from 'node:perf_hooks'
import type { Side } from '../config/schema.ts'
import { renderPathTemplate } from '../config/path-template.ts'
import type { SliceConfig } from '../config/types.ts'
import { CountedFailure, type CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import { failureCause } from '../upstream/upstream-error.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import { mapRequestIds, type MappedRequest } from '../identity/map-request.ts'
import { CallDeadline, capturedCall } from './captured-call.ts'
import type { IdentityCause, ShadowRequest, ShadowResult } from './shadow-run.ts'

/** Every shadow request carries this header, so the other side can tell it from client traffic. */
export const SHADOW_MARKER_HEADER = 'x-ficus-traffic'
export const SHADOW_MARKER_VALUE = 'shadow'
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD'])

export interface ShadowCallDeps {
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  /** Identity maps of routes that declare `ids`. */
  readonly identity: IdentityMaps | undefined
  /** Gateway-owned header names: never passed on from the client. */
  readonly dropped: ReadonlySet<string>
  readonly recordLatency?: (slice: string, side: Side, seconds: number) => void
}

/** The upstream the parallel run calls on a side: its own, or for a write its sandbox when that is its write safety. */
export function shadowUpstream(slice: SliceConfig, side: Side, safe: boolean): string {
  const safety = safe ? null : (slice.shadow?.writes[side] ?? null)
  return safety?.kind === 'sandbox' ? safety.upstream : slice.sides[side].upstream
}

/**
 * One call to a side for the parallel run (the shadow call, a re-ask, or a double-ask of the
 * authoritative side): marked as shadow traffic, a write only with the side's write safety (its
 * dry-run header, or to its sandbox), through the slice's shadow breaker, within the slice's
 * shadow deadline (body included), its answer captured up to the cap.
 */
export async function callSide(deps: ShadowCallDeps, request: ShadowRequest, body: Buffer | null, side: Side): Promise<ShadowResult> {
  const { slice } = request
  const shadow = slice.shadow
  if (!shadow) throw new Error('shadow call on a slice without shadow config')
  const write = !SAFE_METHODS.has(request.method)
  const target = slice.sides[side]
  const safety = write ? shadow.writes[side] : null
  if (write && safety === null) throw new Error(`a write shadowed to ${side} without its write safety`)
  const upstream = shadowUpstream(slice, side, !write)
  const client = deps.pools.get(upstream)
  const mapped = await mappedFor(deps.identity, request, side)
  if (mapped.kind !== 'mapped') return { ok: false, cause: mapped.kind, status: null, latencyMs: null, upstream }
  const headers = upstreamRequestHeaders(request.headers, target, {
    requestId: request.requestId,
    peerAddress: request.peerAddress,
    protocol: request.protocol,
    host: request.host,
    dropped: deps.dropped,
  })
  Object.assign(headers, mapped.headers)
  headers[SHADOW_MARKER_HEADER] = SHADOW_MARKER_VALUE
  if (safety?.kind === 'dry-run-header') headers[safety.name] = safety.value
  if (body) headers['content-length'] = String(body.length)
  const path = client.config.basePath + renderPathTemplate(request.route.rewrite[side], mapped.params) + mapped.query
  const started = performance.now()
  const countServerErrors = deps.breakers.countsServerErrors(upstream, 'shadow')
  const call = { method: request.method, path, headers, body, cap: shadow.maxResponseBodyBytes, deadlineMs: shadow.timeoutMs }
  try {
    const answer = await deps.breakers.call(
      upstream,
      'shadow',
      async () => {
        // One deadline for the whole call, body included: a slow drip is cut like a hang.
        const result = await capturedCall(client.pool, call)
        if (result.status >= 500 && countServerErrors) throw new CountedFailure(result, `shadow answered ${result.status}`)
        return result
      },
      slice.id,
    )
    deps.recordLatency?.(slice.id, side, round(performance.now() - started) / 1000)
    return { ok: true, ...answer, upstream }
  } catch (err) {
    return {
      ok: false,
      cause: err instanceof CallDeadline ? 'timeout' : failureCause(err),
      status: null,
      latencyMs: round(performance.now() - started),
      upstream,
    }
  }
}

/** The request values this side is called with: its ids mapped where the route declares `ids` for it. */
async function mappedFor(identity: IdentityMaps | undefined, request: ShadowRequest, side: Side): Promise<MappedRequest | { kind: IdentityCause }> {
  const { ids } = request.route
  if (!ids.some((id) => id.side === side)) return { kind: 'mapped', params: request.params, query: request.query, headers: {} }
  if (!identity) return { kind: 'identity-unavailable' }
  return await mapRequestIds(identity, ids, side, request)
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}
