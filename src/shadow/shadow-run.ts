import type { CapturedBody } from '../compare/decode-body.ts'
import type { SkipReason } from '../compare/comparison.ts'
import type { Side } from '../config/schema.ts'
import type { RouteConfig, SliceConfig } from '../config/types.ts'
import type { Headers } from '../http/hop-by-hop.ts'
import type { FailureCause } from '../upstream/upstream-error.ts'
import type { SideResult } from './comparison-record.ts'
import type { Ticket } from './shadow-limiter.ts'

/** What the gateway knows about a request when it decides to shadow it. */
export interface ShadowRequest {
  readonly slice: SliceConfig
  readonly route: RouteConfig
  readonly params: Readonly<Record<string, string>>
  readonly method: string
  readonly query: string
  readonly headers: Headers
  readonly requestId: string
  readonly traceparent: string | null
  readonly entityKey: string | null
  readonly requestTime: Date
  readonly primarySide: Side
  /** The slice's authority value when the request came (`legacy`, `modern`, `25%`). */
  readonly authority: string
  readonly flagVersion: number
  /** The id of the authority change in force (its AuthorityChanged event's id); null for the config's initial value. */
  readonly authorityChangeId: string | null
  readonly peerAddress: string | undefined
  readonly protocol: string
  readonly host: string | undefined
}

/** How the authoritative side's call ended. */
export type PrimaryResult = SideResult

/** Why a side was not called: the identity map has no id for it, or did not answer in time (`not-compared`, never a conflict). */
export type IdentityCause = 'missing-identity' | 'identity-unavailable'

/** How a call to the other side ended. */
export type ShadowResult =
  | {
      readonly ok: true
      readonly status: number
      readonly headers: Headers
      readonly body: CapturedBody
      readonly latencyMs: number
      readonly upstream: string
    }
  | {
      readonly ok: false
      readonly cause: FailureCause | IdentityCause
      readonly status: number | null
      readonly latencyMs: number | null
      readonly upstream: string
    }

/** One shadowed request, from the gateway's side: the request path reports to it and never waits on it. */
export interface ShadowRun {
  /** Largest request body that may be replayed to the shadow side. */
  readonly maxRequestBodyBytes: number
  /** Largest primary response body captured for the comparison (the rest is hashed). */
  readonly maxResponseBodyBytes: number
  /** Starts the shadow call with the captured request body. */
  start(body: Buffer | null): void
  /** The shadow cannot be run (its request body is over the cap); the comparison says so. */
  skip(reason: SkipReason): void
  /**
   * The request ended before the authoritative call was made or answered (the client left during
   * its body, a limit was exceeded): the run ends at once, its place in the shadow queue is freed.
   */
  abandon(reason: SkipReason): void
  /** Reports how the authoritative call ended; the comparison follows off the request path. */
  primaryDone(result: PrimaryResult): void
}

/** What a run produces once both sides ended: the two results and why the shadow was not run, if it was not. */
export interface RunOutcome {
  readonly primary: PrimaryResult
  readonly shadow: ShadowResult | undefined
  readonly skipReason: SkipReason | undefined
}

/**
 * The two halves of one run joined: the request path reports the authoritative result (or that
 * the request ended early) and starts the shadow call when its body is known; `outcome` resolves
 * once both ended. The shadow call waits for its place in the shadow queue, never the client. A
 * run is opened only with a place in that queue: a skip decided before (sample, write safety, open
 * breaker, full queue) is counted by the runner and opens none.
 */
export function openRun(
  request: ShadowRequest,
  limits: { readonly maxRequestBodyBytes: number; readonly maxResponseBodyBytes: number },
  ticket: Ticket,
  callShadow: (body: Buffer | null) => Promise<ShadowResult>,
): { run: ShadowRun; outcome: Promise<RunOutcome> } {
  let skipReason: SkipReason | undefined
  let resolveShadow!: (result: ShadowResult | undefined) => void
  const shadowResult = new Promise<ShadowResult | undefined>((resolve) => (resolveShadow = resolve))
  let resolvePrimary!: (result: PrimaryResult) => void
  const primaryResult = new Promise<PrimaryResult>((resolve) => (resolvePrimary = resolve))
  const outcome = (async (): Promise<RunOutcome> => ({ primary: await primaryResult, shadow: await shadowResult, skipReason }))()
  const run: ShadowRun = {
    ...limits,
    start: (body) => {
      if (skipReason) {
        resolveShadow(undefined)
        return
      }
      void ticket.ready.then((place) => (place && !skipReason ? callShadow(body) : undefined)).then(resolveShadow, () => resolveShadow(undefined))
    },
    skip: (reason) => {
      skipReason = reason
      resolveShadow(undefined)
    },
    abandon: (reason) => {
      skipReason = reason
      ticket.cancel()
      resolveShadow(undefined)
      resolvePrimary({ ok: false, cause: reason, status: null, latencyMs: null, upstream: request.slice.sides[request.primarySide].upstream })
    },
    primaryDone: (result) => resolvePrimary(result),
  }
  return { run, outcome }
}
