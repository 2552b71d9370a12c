import { fail, FicusError } from '../errors/errors.ts'
import type { ShadowRun } from '../shadow/shadow-runner.ts'
import { isOpenBreaker } from '../upstream/circuit-breakers.ts'
import { failureCause, toUpstreamError } from '../upstream/upstream-error.ts'
import type { RequestRouting } from './proxy-context.ts'

/** The client-facing error of a failed upstream call: the client's own fault, an open breaker, or the upstream's. */
export function upstreamFailure(err: unknown, gone: boolean, routing: RequestRouting, timeouts: { timeoutMs: number; connectTimeoutMs: number }): FicusError {
  if (err instanceof FicusError && (err.code === 'FICUS_ERR_BODY_TOO_LARGE' || err.code === 'FICUS_ERR_CLIENT_CLOSED')) return err
  if (gone) return fail.clientClosed('the client closed the connection before the upstream answered', { cause: err })
  if (isOpenBreaker(err)) {
    return fail.upstreamCircuitOpen(
      `upstream ${JSON.stringify(routing.upstream)} is failing for slice ${JSON.stringify(routing.slice)}; its circuit breaker is open`,
      {
        cause: err,
        details: { upstream: routing.upstream, slice: routing.slice },
      },
    )
  }
  return toUpstreamError(err, { upstream: routing.upstream, slice: routing.slice, ...timeouts })
}

/**
 * What a failed authoritative call means for its parallel run: a client that left, or a body past
 * the limit, ends the run at once (its place in the shadow queue is freed); any other failure is
 * the primary side's answer, compared like one.
 */
export function endShadowOnFailure(shadow: ShadowRun | undefined, error: FicusError, latencyMs: number, upstream: string): void {
  if (!shadow) return
  if (error.code === 'FICUS_ERR_CLIENT_CLOSED') shadow.abandon('client-closed')
  else if (error.code === 'FICUS_ERR_BODY_TOO_LARGE') shadow.abandon('request-body-over-cap')
  else shadow.primaryDone({ ok: false, cause: failureCause(error), status: error.statusCode, latencyMs, upstream })
}
