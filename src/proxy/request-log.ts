import type { FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES } from '../errors/errors.ts'
import type { ProxyContext } from './proxy-context.ts'
import { splitUrl } from './split-url.ts'

/** The status nginx made the convention for "the client went away before the answer". */
const CLIENT_CLOSED_STATUS = ERROR_CODES.FICUS_ERR_CLIENT_CLOSED.status

/**
 * Stage 7: one log line and one metric sample per request, once its response is done with —
 * finished, or cut short by the client or a failed upstream body. The path, never the query.
 */
export function logRequest(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): void {
  const routing = request.routing
  const finished = reply.raw.writableFinished
  const status = finished || reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED_STATUS
  if (routing) ctx.metrics?.recordRequest(routing.slice, routing.side, status, routing.upstreamMs === null ? null : routing.upstreamMs / 1000)
  if (!ctx.logRequests) return
  request.log.info(
    {
      slice: routing?.slice ?? null,
      authority: routing?.side ?? null,
      method: request.method,
      path: splitUrl(request.raw.url ?? '/').path,
      route: routing?.route ?? null,
      upstream: routing?.upstream ?? null,
      status,
      upstreamStatus: routing?.upstreamStatus ?? null,
      latencyMs: Math.round(reply.elapsedTime * 10) / 10,
      upstreamMs: routing?.upstreamMs ?? null,
      ...(routing?.bodyError ? { bodyError: routing.bodyError } : {}),
      ...(finished ? {} : { clientClosed: true }),
    },
    'request',
  )
}
