import type { FastifyRequest } from 'fastify'
import type { ShadowRun } from '../shadow/shadow-runner.ts'
import type { ProxyContext } from './proxy-context.ts'
import { valueOfKey, type Target } from './select-target.ts'

// W3C trace context: passed on to the comparison when well-formed.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/** Stage 3: tees a request of a shadowed slice to the parallel run; undefined when it is not shadowed. */
export function beginShadow(ctx: ProxyContext, request: FastifyRequest, chosen: Target, query: string, requestTime: Date): ShadowRun | undefined {
  const { match } = chosen
  if (!match || !ctx.shadow) return undefined
  const traceparent = request.headers.traceparent
  return ctx.shadow.begin({
    slice: match.slice,
    route: match.route,
    params: match.params,
    method: request.method,
    query,
    headers: request.headers,
    requestId: request.id,
    traceparent: typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : null,
    entityKey: valueOfKey({ headers: request.headers, query, ip: request.ip }, match, match.slice.entityKey),
    requestTime,
    primarySide: chosen.side,
    authority: chosen.authority,
    flagVersion: chosen.state?.version ?? 0,
    // Version 0 is the config's initial value, which no AuthorityChanged event announced (a store may
    // still hold an id for it: a change that asked for what was already in force).
    authorityChangeId: chosen.state && chosen.state.version > 0 ? (chosen.state.changeId ?? null) : null,
    peerAddress: request.raw.socket.remoteAddress,
    protocol: request.protocol,
    host: request.host,
  })
}
