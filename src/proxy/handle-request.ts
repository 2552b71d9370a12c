import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import { beginShadow } from './begin-shadow.ts'
import { ClientGone, forward } from './forward.ts'
import { elapsedMs, type ProxyContext, type RequestRouting } from './proxy-context.ts'
import { requestBody } from './request-body.ts'
import { mapIdentity, needsIdentity } from './map-identity.ts'
import { markSliceAndSide, respond } from './respond.ts'
import { selectTarget, type Target } from './select-target.ts'
import { splitUrl } from './split-url.ts'
import { endShadowOnFailure, upstreamFailure } from './upstream-failure.ts'

/** What the request log and error answers read of a decision (stage 2's result, kept on the request). */
function routingOf(chosen: Target): RequestRouting {
  const { match } = chosen
  return {
    slice: match?.slice.id ?? null,
    route: match ? `${match.route.method} ${match.route.path.source}` : null,
    side: chosen.side,
    upstream: chosen.target.upstream,
    upstreamStatus: null,
    upstreamMs: null,
    bodyError: null,
  }
}

/** Where a request goes, with what its authoritative call is sent. */
interface Routed {
  readonly chosen: Target
  readonly routing: RequestRouting
  readonly upstreamQuery: string
  /** Headers set to mapped ids; undefined when nothing was mapped. */
  readonly mappedHeaders: Readonly<Record<string, string>> | undefined
}

/**
 * Stage 2, select the target: slice, side, upstream and rewritten path (pure); then, for routes that
 * declare `ids`, the ids the authoritative side knows by other ids mapped (which may change the side).
 */
function routeRequest(ctx: ProxyContext, request: FastifyRequest, path: string, query: string): Routed | Promise<Routed> {
  const selected = selectTarget(ctx.config, ctx.table, ctx.authorityOf, ctx.fallthrough, {
    method: request.method,
    path,
    query,
    headers: request.headers,
    ip: request.ip,
  })
  const routing = routingOf(selected)
  // Set before the lookups: an error answer of a failed mapping names the slice.
  request.routing = routing
  // Most routes map nothing: no promise, no extra turn of the event loop.
  if (!needsIdentity(selected)) return { chosen: selected, routing, upstreamQuery: query, mappedHeaders: undefined }
  return mapIdentity(ctx.identity, selected, { method: request.method, query, headers: request.headers }, (slice) =>
    ctx.metrics?.recordIdentityFallback(slice),
  ).then((mapped) => {
    const remapped = routingOf(mapped.chosen)
    request.routing = remapped
    return { chosen: mapped.chosen, routing: remapped, upstreamQuery: mapped.query, mappedHeaders: mapped.headers }
  })
}

/**
 * The client-facing handler, as its stages (stage 1, the front door, ran as a hook; stage 7, the
 * log line, runs when the response closes): select the target → tee to the parallel run → read
 * the body → forward → respond. A failure at any stage is answered by the error handler.
 */
export function handleRequest(ctx: ProxyContext): (request: FastifyRequest, reply: FastifyReply) => void {
  const proxy = proxyRequest(ctx)
  // Not an async handler: fastify would adopt the returned reply as a thenable and watch the
  // response's end once more for every request (an end-of-stream listener and a promise each).
  // A failure goes to the error handler exactly as a rejected handler's would (whatever was thrown:
  // a value that is not an Error would otherwise be sent as the answer's body).
  return (request, reply) => {
    proxy(request, reply).catch((err: unknown) => reply.send(err instanceof Error ? err : new Error(String(err))))
  }
}

function proxyRequest(ctx: ProxyContext): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const requestTime = new Date()
    const { path, query } = splitUrl(request.raw.url ?? '/')
    const routed = routeRequest(ctx, request, path, query)
    const { chosen, routing, upstreamQuery, mappedHeaders } = routed instanceof Promise ? await routed : routed
    markSliceAndSide(ctx, reply, routing.slice, routing.side)
    // 3. Tee to the parallel run.
    const shadow = beginShadow(ctx, request, chosen, query, requestTime)
    // The upstream call is aborted when the client goes away before the answer is complete.
    const signal = new ClientGone()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) signal.fire()
    })
    const client = ctx.pools.get(chosen.target.upstream)
    const started = performance.now()
    let response
    try {
      // 4. The body, 5. forward.
      const body = await requestBody(ctx, request, shadow)
      const headers = upstreamRequestHeaders(request.headers, chosen.target, {
        requestId: request.id,
        peerAddress: request.raw.socket.remoteAddress,
        protocol: request.protocol,
        host: request.host,
        dropped: ctx.dropped,
      })
      if (mappedHeaders) Object.assign(headers, mappedHeaders)
      const onRetry = ctx.metrics ? (upstream: string) => ctx.metrics?.recordRetry(upstream) : undefined
      response = await forward(ctx.breakers, {
        client,
        slice: routing.slice,
        method: request.method,
        path: client.config.basePath + chosen.upstreamPath + upstreamQuery,
        headers,
        body,
        signal,
        ...(onRetry ? { onRetry } : {}),
      })
    } catch (err) {
      const error = upstreamFailure(err, signal.gone, routing, { timeoutMs: client.config.timeoutMs, connectTimeoutMs: client.config.connectTimeoutMs })
      endShadowOnFailure(shadow, error, elapsedMs(started, performance.now()), chosen.target.upstream)
      // A body the upstream never read (the breaker refused the call, a limit was passed): the connection cannot be reused.
      if (error.code === 'FICUS_ERR_BODY_TOO_LARGE' || !request.raw.complete) reply.header('connection', 'close')
      throw error
    }
    routing.upstreamStatus = response.statusCode
    routing.upstreamMs = elapsedMs(started, performance.now())
    // 6. Respond (the answer streams to the client, tapped for the comparison).
    respond(ctx, reply, request.id, response, routing, shadow)
  }
}
