import { METHODS } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { AuthorityStore } from '../authority/authority-store.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig } from '../config/types.ts'
import { sendError } from '../http/error-reply.ts'
import { ERROR_CODES, FicusError } from '../errors/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import { forward, ClientGone } from './forward.ts'
import { BodyLimit, bodyTooLarge, checkHead, clientErrorHandler, refuseConnect, requestId, serverFactory } from './front-door.ts'
import { checkPath } from './path-safety.ts'
import { fallthroughTargets, selectTarget, valueOfKey, type Target } from './select-target.ts'
import { splitUrl } from './split-url.ts'
import { proxyWebSocket } from './websocket.ts'
import { RouteTable } from '../routing/route-table.ts'
import { captureRequestBody, BodyTap } from '../shadow/body-capture.ts'
import type { ShadowRun, ShadowRunner } from '../shadow/shadow-runner.ts'
import { isOpenBreaker, type CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { clientResponseHeaders, droppedRequestHeaders, upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import { failureCause, toUpstreamError } from '../upstream/upstream-error.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'

export interface GatewayDeps {
  /** Live authority; only its synchronous snapshot read is used on the request path. */
  readonly authority: Pick<AuthorityStore, 'get'>
  readonly logger: Logger
  /** Connection pools; their owner closes them after the gateway. */
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  /** The parallel run; without it nothing is shadowed. */
  readonly shadow?: ShadowRunner
  readonly metrics?: Pick<Metrics, 'recordRequest' | 'recordRetry' | 'recordUpgrade' | 'trackTunnel'>
}

/** What the gateway decided for one request; read by the request log line and error answers. */
export interface RequestRouting {
  readonly slice: string | null
  readonly route: string | null
  readonly side: Side
  readonly upstream: string
  upstreamStatus: number | null
  upstreamMs: number | null
  /** Set when the upstream's body failed after the status was sent. */
  bodyError: string | null
}

declare module 'fastify' {
  interface FastifyRequest {
    routing: RequestRouting | null
  }
}

/** The status nginx made the convention for "the client went away before the answer". */
const CLIENT_CLOSED_STATUS = ERROR_CODES.FICUS_ERR_CLIENT_CLOSED.status
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

function declaredBodyLength(request: FastifyRequest): number | null {
  const length = request.headers['content-length']
  return length === undefined ? null : Number(length)
}

function hasBody(request: FastifyRequest): boolean {
  const length = declaredBodyLength(request)
  return request.headers['transfer-encoding'] !== undefined || (length !== null && length !== 0)
}

/**
 * Assembles the gateway: the front door (limits, path rules, CONNECT, WebSocket upgrades), the
 * route table, and the one catch-all handler that sends each request to its slice's authoritative
 * side and tees it to the parallel run. The caller owns `listen` and `close`.
 */
export async function buildGateway(config: GatewayConfig, deps: GatewayDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger
  // Building the request line costs something; skip it when info is off (the level is fixed at start).
  const logRequests = deps.logger.isLevelEnabled('info')
  const app = Fastify({
    loggerInstance: logger,
    // One line per request comes from the response's close, with the routing decision in it.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (raw) => requestId(raw.headers['x-request-id']),
    trustProxy: config.trustProxy,
    exposeHeadRoutes: false,
    // Requests arriving while we close get our own 503 (FICUS_ERR_SHUTTING_DOWN), see onRequest.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    serverFactory: serverFactory(config.limits),
    clientErrorHandler: clientErrorHandler(deps.logger, config.limits),
    // A URL fastify's router cannot decode (`%zz`) breaks the path rule like any other bad path.
    frameworkErrors: (error, request, reply) => {
      const refused = error.code === 'FST_ERR_BAD_URL' ? new FicusError('FICUS_ERR_PATH_REJECTED', 'the path has a malformed percent-encoding') : error
      reply.header('x-request-id', request.id)
      sendError(request, reply, refused)
    },
  })
  // Every method Node's parser accepts can fall through; CONNECT is a tunnel (refused on the server).
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method)
  }

  const table = new RouteTable(config)
  const { pools, breakers } = deps
  const fallthrough = fallthroughTargets(config)
  const dropped = droppedRequestHeaders(config.ownedHeaders)
  const authorityOf = (sliceId: string) => deps.authority.get(sliceId)
  let closing = false

  app.server.on('connect', refuseConnect(deps.logger))
  const websockets = proxyWebSocket({
    config,
    table,
    authorityOf,
    fallthroughTargets: fallthrough,
    pools,
    dropped,
    logger: deps.logger,
    closing: () => closing,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  })
  app.server.on('upgrade', websockets.onUpgrade)

  // Bodies are streamed to the upstream untouched: no parsing, no buffering.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(null)
  })
  app.decorateRequest('routing', null)

  app.addHook('preClose', (done) => {
    closing = true
    // Upgraded connections are the server's no more, yet its close waits for them: end them first.
    websockets.closeAll()
    done()
  })
  // The front door: nothing is forwarded past a limit or an unsafe path.
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => logRequest(request, reply))
    reply.header('x-request-id', request.id)
    if (closing) {
      reply.header('connection', 'close')
      throw new FicusError('FICUS_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another instance')
    }
    const refused = checkHead(request.raw, config.limits)
    if (refused) {
      reply.header('connection', 'close')
      throw refused
    }
    const verdict = checkPath(splitUrl(request.raw.url ?? '/').path)
    if (!verdict.ok) throw new FicusError('FICUS_ERR_PATH_REJECTED', verdict.reason)
    const length = declaredBodyLength(request)
    if (length !== null && length > config.limits.maxBodyBytes) {
      reply.header('connection', 'close')
      throw bodyTooLarge(config.limits.maxBodyBytes)
    }
  })

  // Set before the upstream call (for error answers) and again after it (over the upstream's own).
  const markSliceAndSide = (reply: FastifyReply, sliceId: string | undefined, side: Side): void => {
    if (sliceId !== undefined && config.responseHeaders.slice) reply.header('x-ficus-slice', sliceId)
    if (config.responseHeaders.authority) reply.header('x-ficus-authority', side)
  }

  /** The request's body as the upstream gets it: counted against the limit, and for a shadowed request read once and replayed to both sides. */
  async function requestBody(request: FastifyRequest, shadow: ShadowRun | undefined): Promise<Readable | Buffer | null> {
    if (!hasBody(request)) {
      shadow?.start(null)
      return null
    }
    const limited = request.raw.pipe(new BodyLimit(config.limits.maxBodyBytes))
    // The upstream call reports the stream's errors; this keeps one that nobody reads (the breaker
    // refused the call before the body was taken) from being an unhandled 'error' event.
    limited.on('error', () => undefined)
    // pipe() does not pass on the source's end: a client that leaves mid-body fails the stream.
    const left = (): void => {
      if (!request.raw.complete) limited.destroy(new FicusError('FICUS_ERR_CLIENT_CLOSED', 'the client left during its request body'))
    }
    request.raw.once('error', left)
    request.raw.once('close', left)
    if (!shadow || shadow.skipped) {
      shadow?.start(null)
      return limited
    }
    const captured = await captureRequestBody(limited, shadow.maxRequestBodyBytes)
    if (!captured.complete) {
      shadow.skip('request-body-over-cap')
      return captured.replay
    }
    shadow.start(captured.body)
    return captured.body
  }

  function beginShadow(request: FastifyRequest, chosen: Target, query: string, requestTime: Date): ShadowRun | undefined {
    const { match } = chosen
    if (!match || !deps.shadow) return undefined
    const traceparent = request.headers.traceparent
    return deps.shadow.begin({
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
      peerAddress: request.raw.socket.remoteAddress,
      protocol: request.protocol,
      host: request.host,
    })
  }

  /** The client-facing error of a failed upstream call. */
  function upstreamFailure(err: unknown, gone: boolean, routing: RequestRouting, timeouts: { timeoutMs: number; connectTimeoutMs: number }): FicusError {
    if (err instanceof FicusError && (err.code === 'FICUS_ERR_BODY_TOO_LARGE' || err.code === 'FICUS_ERR_CLIENT_CLOSED')) return err
    if (gone) return new FicusError('FICUS_ERR_CLIENT_CLOSED', 'the client closed the connection before the upstream answered', { cause: err })
    if (isOpenBreaker(err)) {
      return new FicusError('FICUS_ERR_UPSTREAM_CIRCUIT_OPEN', `upstream ${JSON.stringify(routing.upstream)} is failing for slice ${JSON.stringify(routing.slice)}; its circuit breaker is open`, {
        cause: err,
        details: { upstream: routing.upstream, slice: routing.slice },
      })
    }
    return toUpstreamError(err, { upstream: routing.upstream, slice: routing.slice, ...timeouts })
  }

  async function proxy(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const requestTime = new Date()
    const { path, query } = splitUrl(request.raw.url ?? '/')
    const chosen = selectTarget(config, table, authorityOf, fallthrough, { method: request.method, path, query, headers: request.headers, ip: request.ip })
    const { match, side, target } = chosen
    const client = pools.get(target.upstream)
    const routing: RequestRouting = {
      slice: match?.slice.id ?? null,
      route: match ? `${match.route.method} ${match.route.path.source}` : null,
      side,
      upstream: target.upstream,
      upstreamStatus: null,
      upstreamMs: null,
      bodyError: null,
    }
    request.routing = routing
    markSliceAndSide(reply, match?.slice.id, side)

    const shadow = beginShadow(request, chosen, query, requestTime)
    // Abort the upstream call when the client goes away before the answer is complete.
    const signal = new ClientGone()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) signal.fire()
    })
    const started = performance.now()
    let response
    try {
      const body = await requestBody(request, shadow)
      response = await forward(breakers, {
        client,
        slice: routing.slice,
        method: request.method,
        path: client.config.basePath + chosen.upstreamPath + query,
        headers: upstreamRequestHeaders(request.headers, target, { requestId: request.id, peerAddress: request.raw.socket.remoteAddress, protocol: request.protocol, host: request.host, dropped }),
        body,
        signal,
        ...(deps.metrics ? { onRetry: (upstream: string) => deps.metrics?.recordRetry(upstream) } : {}),
      })
    } catch (err) {
      const error = upstreamFailure(err, signal.gone, routing, { timeoutMs: client.config.timeoutMs, connectTimeoutMs: client.config.connectTimeoutMs })
      // The run ends with the request: a client that left or a body past the limit frees its place at once.
      if (error.code === 'FICUS_ERR_CLIENT_CLOSED' || error.code === 'FICUS_ERR_BODY_TOO_LARGE') shadow?.abandon(error.code === 'FICUS_ERR_CLIENT_CLOSED' ? 'client-closed' : 'request-body-over-cap')
      else shadow?.primaryDone({ ok: false, cause: failureCause(error), status: error.statusCode, latencyMs: Math.round((performance.now() - started) * 10) / 10, upstream: target.upstream })
      // A body the upstream never read (the breaker refused the call): the connection cannot be reused.
      if (error.code === 'FICUS_ERR_BODY_TOO_LARGE' || !request.raw.complete) reply.header('connection', 'close')
      throw error
    }
    routing.upstreamStatus = response.statusCode
    routing.upstreamMs = Math.round((performance.now() - started) * 10) / 10
    response.body.once('error', (err: NodeJS.ErrnoException) => {
      routing.bodyError = err.code ?? err.name
    })
    reply.code(response.statusCode)
    reply.headers(clientResponseHeaders(response.headers))
    reply.header('x-request-id', request.id)
    markSliceAndSide(reply, match?.slice.id, side)
    if (!shadow) return reply.send(response.body)
    return reply.send(teeToShadow(shadow, response, routing))
  }

  /** The answer streams to the client while it is captured for the comparison. */
  function teeToShadow(shadow: ShadowRun, response: Awaited<ReturnType<typeof forward>>, routing: RequestRouting): Readable {
    const tap = new BodyTap(shadow.maxResponseBodyBytes)
    const { statusCode, headers } = response
    const latencyMs = routing.upstreamMs ?? 0
    tap.result.then(
      (captured) => shadow.primaryDone({ ok: true, status: statusCode, headers, body: captured, latencyMs, upstream: routing.upstream }),
      () => shadow.primaryDone({ ok: false, cause: 'incomplete', status: statusCode, latencyMs, upstream: routing.upstream }),
    )
    // pipe() with explicit error and close propagation rather than stream.pipeline(), which builds
    // an AbortController and a DOMException for every request it finishes (measured: 4 % of CPU).
    const upstreamBody = response.body
    upstreamBody.once('error', (err) => tap.destroy(err))
    tap.once('close', () => {
      if (!upstreamBody.destroyed) upstreamBody.destroy()
    })
    return upstreamBody.pipe(tap)
  }

  app.route({ method: app.supportedMethods.filter((method) => method !== 'CONNECT'), url: '*', handler: proxy })

  app.setErrorHandler((err: FastifyError | FicusError, request, reply) => sendError(request, reply, err, { slice: request.routing?.slice ?? null }, { authority: request.routing?.side ?? null }))

  // One log line and one metric sample per request, when its response is done with — finished, or
  // cut short by the client or a failed upstream body.
  function logRequest(request: FastifyRequest, reply: FastifyReply): void {
    const routing = request.routing
    const finished = reply.raw.writableFinished
    const status = finished || reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED_STATUS
    if (routing) deps.metrics?.recordRequest(routing.slice, routing.side, status, routing.upstreamMs === null ? null : routing.upstreamMs / 1000)
    if (!logRequests) return
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

  return app
}
