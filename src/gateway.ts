import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { METHODS } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { AuthorityStore } from './authority/authority-store.ts'
import { chooseSide } from './authority/sticky-bucket.ts'
import { renderPathTemplate } from './config/path-template.ts'
import type { Side } from './config/schema.ts'
import type { GatewayConfig, SideTarget, StickyKey } from './config/types.ts'
import { sendError } from './error-reply.ts'
import { ERROR_CODES, FicusError } from './errors.ts'
import type { Metrics } from './observability/metrics.ts'
import { RouteTable, type RouteMatch } from './routing/route-table.ts'
import { clientResponseHeaders, upstreamRequestHeaders } from './upstream/forward-headers.ts'
import { failureCause, toUpstreamError } from './upstream/upstream-error.ts'
import type { UpstreamPools } from './upstream/upstream-pools.ts'
import { captureRequestBody, BodyTap } from './shadow/body-capture.ts'
import type { ShadowRun, ShadowRunner } from './shadow/shadow-runner.ts'
import { CountedFailure, isOpenBreaker, UncountedError, type CircuitBreakers } from './upstream/circuit-breakers.ts'

export interface GatewayDeps {
  /** Live authority; only its synchronous snapshot read is used on the request path. */
  readonly authority: Pick<AuthorityStore, 'get'>
  readonly logger: Logger
  /** Connection pools; their owner closes them after the gateway. */
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  /** The parallel run; without it nothing is shadowed. */
  readonly shadow?: ShadowRunner
  readonly metrics?: Pick<Metrics, 'recordRequest'>
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

/** Tells undici (which accepts an emitter as its signal) that the client went away. */
class ClientGone extends EventEmitter {
  gone = false

  fire(): void {
    this.gone = true
    this.emit('abort')
  }
}

/** The status nginx made the convention for "the client went away before the answer". */
const CLIENT_CLOSED_STATUS = ERROR_CODES.FICUS_ERR_CLIENT_CLOSED.status
// A request id we accept from a client: printable, no spaces, bounded (it ends up in logs and events).
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && VALID_REQUEST_ID.test(header) ? header : randomUUID()
}

function splitUrl(url: string): { path: string; query: string } {
  // Absolute-form targets (RFC 9112 §3.2.2) are reduced to their path and query.
  const target = url.startsWith('/') ? url : (() => {
    try {
      const parsed = new URL(url)
      return parsed.pathname + parsed.search
    } catch {
      return '/'
    }
  })()
  const mark = target.indexOf('?')
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark) }
}

/** The value a request carries for a configured key (path parameter, header or query parameter). */
function keyValue(request: FastifyRequest, match: RouteMatch, key: StickyKey | null, query: string): string | null {
  let value: string | undefined
  if (key?.from === 'param') value = match.params[key.name]
  else if (key?.from === 'header') {
    const header = request.headers[key.name]
    value = Array.isArray(header) ? header[0] : header
  } else if (key?.from === 'query') value = new URLSearchParams(query).get(key.name) ?? undefined
  return value !== undefined && value !== '' ? value : null
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Assembles the gateway: route table, upstream pools and the one catch-all handler that sends each
 * request to its slice's authoritative side. The caller owns `listen` and `close`.
 */
export async function buildGateway(config: GatewayConfig, deps: GatewayDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger
  // Building the request line costs something; skip it when info is off (the level is fixed at start).
  const logRequests = deps.logger.isLevelEnabled('info')
  const app = Fastify({
    loggerInstance: logger,
    // One line per request comes from the onResponse hook below, with the routing decision in it.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (raw) => requestId(raw.headers['x-request-id']),
    trustProxy: config.trustProxy,
    exposeHeadRoutes: false,
    // Requests arriving while we close get our own 503 (FICUS_ERR_SHUTTING_DOWN), see onRequest.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  })
  // Every method Node's parser accepts can fall through; CONNECT is a tunnel, not a request to route.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method)
  }

  const table = new RouteTable(config)
  const { pools, breakers } = deps

  // Bodies are streamed to the upstream untouched: no parsing, no buffering.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(null)
  })
  app.decorateRequest('routing', null)

  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => logRequest(request, reply))
    reply.header('x-request-id', request.id)
    if (closing) {
      reply.header('connection', 'close')
      throw new FicusError('FICUS_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another instance')
    }
  })

  const fallthroughTargets: Readonly<Record<Side, SideTarget>> = {
    legacy: { upstream: config.sides.legacy, addHeaders: {}, removeHeaders: [] },
    modern: { upstream: config.sides.modern, addHeaders: {}, removeHeaders: [] },
  }
  // Set before the upstream call (for error answers) and again after it (over the upstream's own).
  const markResponse = (reply: FastifyReply, sliceId: string | undefined, side: Side): void => {
    if (sliceId !== undefined && config.responseHeaders.slice) reply.header('x-ficus-slice', sliceId)
    if (config.responseHeaders.authority) reply.header('x-ficus-authority', side)
  }

  async function proxy(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const requestTime = new Date()
    const { path, query } = splitUrl(request.raw.url ?? '/')
    const match = table.match(request.method, path)
    const slice = match?.slice
    const state = slice ? deps.authority.get(slice.id) : undefined
    const authority = state?.authority ?? slice?.authority ?? config.fallthrough
    const side: Side = match
      ? chooseSide(match.slice.id, authority, () => keyValue(request, match, match.slice.stickyKey, query) ?? `ip:${request.ip}`)
      : config.fallthrough
    const target = slice ? slice.sides[side] : fallthroughTargets[side]
    const client = pools.get(target.upstream)
    const upstreamPath = match ? renderPathTemplate(match.route.rewrite[side], match.params) : path

    const routing: RequestRouting = {
      slice: slice?.id ?? null,
      route: match ? `${match.route.method} ${match.route.path.source}` : null,
      side,
      upstream: target.upstream,
      upstreamStatus: null,
      upstreamMs: null,
      bodyError: null,
    }
    request.routing = routing
    markResponse(reply, slice?.id, side)

    const traceparent = request.headers.traceparent
    const shadow: ShadowRun | undefined = match
      ? deps.shadow?.begin({
          slice: match.slice,
          route: match.route,
          params: match.params,
          method: request.method,
          query,
          headers: request.headers,
          requestId: request.id,
          traceparent: typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : null,
          entityKey: keyValue(request, match, match.slice.entityKey, query),
          requestTime,
          primarySide: side,
          authority,
          flagVersion: state?.version ?? 0,
          peerAddress: request.raw.socket.remoteAddress,
          protocol: request.protocol,
          host: request.host,
        })
      : undefined

    // A shadowed request's body is read once (up to the cap) and replayed to both sides.
    let body: Readable | Buffer | null = hasBody(request) ? request.raw : null
    if (shadow) {
      if (body === null) shadow.start(null)
      else {
        const captured = await captureRequestBody(request.raw, shadow.maxRequestBodyBytes)
        if (captured.complete) {
          body = captured.body
          shadow.start(captured.body)
        } else {
          body = captured.replay
          shadow.skip('request-body-over-cap')
        }
      }
    }

    // Abort the upstream call when the client goes away before the answer is complete. undici takes
    // an emitter as a signal: cheaper per request than an AbortController.
    const abort = new ClientGone()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.fire()
    })

    const started = performance.now()
    let response
    try {
      response = await breakers.call(target.upstream, 'primary', async () => {
        let answer
        try {
          answer = await client.pool.request({
            method: request.method,
            path: client.config.basePath + upstreamPath + query,
            headers: upstreamRequestHeaders(request.headers, target, {
              requestId: request.id,
              peerAddress: request.raw.socket.remoteAddress,
              protocol: request.protocol,
              host: request.host,
            }),
            body,
            signal: abort,
          })
        } catch (err) {
          // A client that left says nothing about the upstream's health.
          throw abort.gone ? new UncountedError(err) : err
        }
        // 5xx answers go to the client as they are, but count as failures for the breaker.
        if (answer.statusCode >= 500) throw new CountedFailure(answer, `upstream answered ${answer.statusCode}`)
        return answer
      })
    } catch (err) {
      const error = abort.gone
        ? new FicusError('FICUS_ERR_CLIENT_CLOSED', 'the client closed the connection before the upstream answered', { cause: err })
        : isOpenBreaker(err)
          ? new FicusError('FICUS_ERR_UPSTREAM_CIRCUIT_OPEN', `upstream ${JSON.stringify(target.upstream)} is failing; its circuit breaker is open`, { cause: err, details: { upstream: target.upstream, slice: routing.slice } })
          : toUpstreamError(err, {
              upstream: target.upstream,
              slice: routing.slice,
              timeoutMs: client.config.timeoutMs,
              connectTimeoutMs: client.config.connectTimeoutMs,
            })
      shadow?.primaryDone({ ok: false, cause: failureCause(error), status: error.statusCode, latencyMs: Math.round((performance.now() - started) * 10) / 10, upstream: target.upstream })
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
    markResponse(reply, slice?.id, side)
    if (!shadow) return reply.send(response.body)

    // Capture the answer for the comparison while it streams to the client.
    const tap = new BodyTap(shadow.maxResponseBodyBytes)
    const { statusCode, headers } = response
    const latencyMs = routing.upstreamMs
    tap.result.then(
      (captured) => shadow.primaryDone({ ok: true, status: statusCode, headers, body: captured, latencyMs, upstream: target.upstream }),
      () => shadow.primaryDone({ ok: false, cause: 'incomplete', status: statusCode, latencyMs, upstream: target.upstream }),
    )
    // pipe() with explicit error and close propagation rather than stream.pipeline(), which builds
    // an AbortController and a DOMException for every request it finishes (measured: 4 % of CPU).
    const upstreamBody = response.body
    upstreamBody.once('error', (err) => tap.destroy(err))
    tap.once('close', () => {
      if (!upstreamBody.destroyed) upstreamBody.destroy()
    })
    return reply.send(upstreamBody.pipe(tap))
  }

  app.route({ method: app.supportedMethods.filter((method) => method !== 'CONNECT'), url: '*', handler: proxy })

  app.setErrorHandler((err: FastifyError | FicusError, request, reply) => sendError(request, reply, err, { slice: request.routing?.slice ?? null }, { authority: request.routing?.side ?? null }))

  // One log line and one metric sample per request, when its response is done with — finished, or
  // cut short by the client or a failed upstream body (fastify's onResponse only sees the former).
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
