import { METHODS } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { AuthorityStore } from '../authority/authority-store.ts'
import type { GatewayConfig } from '../config/types.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { sendError } from '../http/error-reply.ts'
import { LazyChildLogger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import { RouteTable } from '../routing/route-table.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import type { ShadowRunner } from '../shadow/shadow-runner.ts'
import type { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { droppedRequestHeaders } from '../upstream/forward-headers.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import { admitRequest } from './admit-request.ts'
import { clientErrorHandler, refuseConnect, requestId, serverFactory } from './front-door.ts'
import { handleRequest } from './handle-request.ts'
import type { ProxyContext } from './proxy-context.ts'
import { logRequest } from './request-log.ts'
import { fallthroughTargets } from './select-target.ts'
import { proxyWebSocket } from './websocket.ts'

export type { RequestRouting } from './proxy-context.ts'

export interface GatewayDeps {
  /** Live authority; only its synchronous snapshot read is used on the request path. */
  readonly authority: Pick<AuthorityStore, 'get'>
  readonly logger: Logger
  /** Connection pools; their owner closes them after the gateway. */
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  /** The parallel run; without it nothing is shadowed. */
  readonly shadow?: ShadowRunner
  /** The config's identity maps, opened (routes with `ids` need them). */
  readonly identity?: IdentityMaps
  readonly metrics?: Pick<Metrics, 'recordRequest' | 'recordRetry' | 'recordUpgrade' | 'trackTunnel' | 'recordIdentityFallback'>
}

/**
 * Assembles the gateway: the fastify server with the front door (limits, path rules, CONNECT,
 * WebSocket upgrades), the route table, and the one catch-all handler whose stages send each
 * request to its slice's authoritative side and tee it to the parallel run (handle-request.ts).
 * The caller owns `listen` and `close`.
 */
export async function buildGateway(config: GatewayConfig, deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(config, deps.logger))
  // Every method Node's parser accepts can fall through; CONNECT is a tunnel (refused on the server).
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method)
  }
  const ctx = proxyContext(config, deps)
  let closing = false

  app.server.on('connect', refuseConnect(deps.logger))
  const websockets = proxyWebSocket({
    ...ctx,
    fallthroughTargets: ctx.fallthrough,
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
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => logRequest(ctx, request, reply))
    done()
  })
  app.addHook(
    'onRequest',
    admitRequest(ctx, () => closing),
  )
  app.route({ method: app.supportedMethods.filter((method) => method !== 'CONNECT'), url: '*', handler: handleRequest(ctx) })
  app.setErrorHandler((err: FastifyError | FicusError, request, reply) =>
    sendError(request, reply, err, { slice: request.routing?.slice ?? null }, { authority: request.routing?.side ?? null }),
  )
  return app
}

/** The fastify server of the front door: its limits, request ids, logging and framework errors. */
function serverOptions(config: GatewayConfig, logger: Logger): FastifyServerOptions & { loggerInstance: FastifyBaseLogger } {
  return {
    loggerInstance: logger,
    // One line per request comes from the response's close, with the routing decision in it.
    logController: new LogController({ disableRequestLogging: true }),
    // A request's child logger is made when it first logs (most never do at the default level).
    // The parent is the server's logger, `logger`.
    childLoggerFactory: (_parent, bindings) => new LazyChildLogger(logger, bindings),
    requestIdHeader: false,
    genReqId: (raw) => requestId(raw.headers['x-request-id']),
    trustProxy: config.trustProxy,
    exposeHeadRoutes: false,
    // Requests arriving while we close get our own 503 (FICUS_ERR_SHUTTING_DOWN), see admitRequest.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    serverFactory: serverFactory(config.limits),
    clientErrorHandler: clientErrorHandler(logger, config.limits),
    // A URL fastify's router cannot decode (`%zz`) breaks the path rule like any other bad path.
    frameworkErrors: (error, request, reply) => {
      const refused = error.code === 'FST_ERR_BAD_URL' ? fail.pathRejected('the path has a malformed percent-encoding') : error
      reply.header('x-request-id', request.id)
      sendError(request, reply, refused)
    },
  }
}

/** What every stage of the request path reads, built once per gateway. */
function proxyContext(config: GatewayConfig, deps: GatewayDeps): ProxyContext {
  return {
    config,
    table: new RouteTable(config),
    pools: deps.pools,
    breakers: deps.breakers,
    shadow: deps.shadow,
    identity: deps.identity,
    metrics: deps.metrics,
    authorityOf: (sliceId) => deps.authority.get(sliceId),
    fallthrough: fallthroughTargets(config),
    dropped: droppedRequestHeaders(config.ownedHeaders),
    // Building the request line costs something; skip it when info is off (the level is fixed at start).
    logRequests: deps.logger.isLevelEnabled('info'),
  }
}
