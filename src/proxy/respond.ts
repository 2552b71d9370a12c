import type { FastifyReply } from 'fastify'
import type { Dispatcher } from 'undici'
import type { Side } from '../config/schema.ts'
import { tapBody } from '../shadow/body-capture.ts'
import type { ShadowRun } from '../shadow/shadow-runner.ts'
import { clientResponseHeaders } from '../upstream/forward-headers.ts'
import type { ProxyContext, RequestRouting } from './proxy-context.ts'

/** The gateway's marks on an answer: which slice, which side (as configured). */
export function markSliceAndSide(ctx: ProxyContext, reply: FastifyReply, sliceId: string | null, side: Side): void {
  if (sliceId !== null && ctx.config.responseHeaders.slice) reply.header('x-ficus-slice', sliceId)
  if (ctx.config.responseHeaders.authority) reply.header('x-ficus-authority', side)
}

/**
 * Stage 6: the upstream's answer to the client — its status, its end-to-end headers, ours, and its
 * body streamed; for a shadowed request the body is tapped on its way for the comparison.
 */
export function respond(
  ctx: ProxyContext,
  reply: FastifyReply,
  requestId: string,
  response: Dispatcher.ResponseData,
  routing: RequestRouting,
  shadow: ShadowRun | undefined,
): FastifyReply {
  response.body.once('error', (err: NodeJS.ErrnoException) => {
    routing.bodyError = err.code ?? err.name
  })
  reply.code(response.statusCode)
  reply.headers(clientResponseHeaders(response.headers))
  reply.header('x-request-id', requestId)
  markSliceAndSide(ctx, reply, routing.slice, routing.side)
  reply.send(response.body)
  // The tap listens beside the pipe to the client, attached in the same tick as it (the proxy
  // route has no onSend hook, so fastify pipes at once): no chunk flows before both listen.
  if (shadow) tapForShadow(shadow, response, routing)
  return reply
}

/** The answer streams to the client while up to the shadow cap of it is kept for the comparison. */
function tapForShadow(shadow: ShadowRun, response: Dispatcher.ResponseData, routing: RequestRouting): void {
  const { statusCode, headers } = response
  const latencyMs = routing.upstreamMs ?? 0
  tapBody(response.body, shadow.maxResponseBodyBytes).then(
    (captured) => shadow.primaryDone({ ok: true, status: statusCode, headers, body: captured, latencyMs, upstream: routing.upstream }),
    () => shadow.primaryDone({ ok: false, cause: 'incomplete', status: statusCode, latencyMs, upstream: routing.upstream }),
  )
}
