import { type ClientRequest, request as httpRequest, type IncomingMessage, STATUS_CODES } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { AuthorityState } from '../authority/authority-store.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, SideTarget } from '../config/types.ts'
import { fail, FicusError } from '../errors/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { RouteTable } from '../routing/route-table.ts'
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import type { OutgoingHeaders } from '../http/hop-by-hop.ts'
import { tlsOptions, type UpstreamPools } from '../upstream/upstream-pools.ts'
import { checkHead, requestId, writeRawError } from './front-door.ts'
import { checkPath } from './path-safety.ts'
import { needsIdentity } from './map-identity.ts'
import { selectTarget } from './select-target.ts'
import { splitUrl } from './split-url.ts'

export interface WebSocketDeps {
  readonly config: GatewayConfig
  readonly table: RouteTable
  readonly authorityOf: (sliceId: string) => AuthorityState | undefined
  readonly fallthroughTargets: Readonly<Record<Side, SideTarget>>
  readonly pools: UpstreamPools
  readonly dropped: ReadonlySet<string>
  readonly logger: Logger
  readonly closing: () => boolean
  readonly metrics?: Pick<Metrics, 'recordRequest' | 'recordUpgrade' | 'trackTunnel'>
}

export interface WebSocketProxy {
  /** The server's `upgrade` listener. */
  readonly onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** How many WebSocket connections are open through the gateway. */
  readonly open: () => number
  /** Closes every open WebSocket connection (at shutdown: they are not the HTTP server's any more). */
  readonly closeAll: () => void
}

function headLines(headers: OutgoingHeaders): string {
  let text = ''
  for (const [name, value] of Object.entries(headers)) for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${item}\r\n`
  return text
}

/** One upgrade request on its way: who asked, where it goes, and the tunnels it may join. */
interface Upgrade {
  readonly deps: WebSocketDeps
  readonly tunnels: Set<Duplex>
  readonly request: IncomingMessage
  readonly socket: Duplex
  readonly head: Buffer
  readonly id: string
  readonly started: number
}

/** Where an admitted upgrade goes. */
interface UpgradeRoute {
  readonly path: string
  readonly query: string
  readonly chosen: ReturnType<typeof selectTarget>
  readonly routing: { readonly slice: string | null; readonly side: Side }
}

/**
 * WebSocket upgrades, proxied to the authoritative side of their slice (or the fallthrough side)
 * with the same checks, target and header handling as any request — never shadowed. The upstream's
 * `101` is relayed and the two connections are joined; any other answer is relayed as it is. A
 * slice with `websocket: false` answers 501. Other `Upgrade` protocols never get here: the server
 * answers them without upgrading (front-door.ts).
 */
export function proxyWebSocket(deps: WebSocketDeps): WebSocketProxy {
  const tunnels = new Set<Duplex>()
  // Upgrade requests still waiting for the upstream's answer: ended at shutdown like the tunnels.
  const pending = new Set<{ destroy: () => void }>()
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const upgrade: Upgrade = { deps, tunnels, request, socket, head, id: requestId(request.headers['x-request-id']), started: performance.now() }
    const route = admitUpgrade(upgrade)
    if (!route) return
    const upstream = openUpstream(upgrade, route)
    pending.add(upstream)
    upstream.once('close', () => pending.delete(upstream))
    upstream.once('upgrade', () => pending.delete(upstream))
    upstream.end()
  }
  return {
    onUpgrade,
    open: () => tunnels.size,
    closeAll: () => {
      for (const request of pending) request.destroy()
      for (const socket of tunnels) socket.destroy()
    },
  }
}

/** Answers the upgrade with the gateway's own error, counted and logged. */
function failUpgrade(upgrade: Upgrade, error: FicusError, routing: UpgradeRoute['routing']): void {
  const { deps } = upgrade
  deps.logger.warn({ reqId: upgrade.id, code: error.code, reason: error.message, slice: routing.slice, upgrade: 'websocket' }, 'request failed')
  deps.metrics?.recordRequest(routing.slice, routing.side, error.statusCode, null)
  deps.metrics?.recordUpgrade(
    routing.slice,
    routing.side,
    error.statusCode >= 500 && error.code !== 'FICUS_ERR_UPGRADE_REFUSED' && error.code !== 'FICUS_ERR_SHUTTING_DOWN' ? 'failed' : 'refused',
  )
  writeRawError(upgrade.socket, error, upgrade.id)
}

/** The front door's checks and the target, as for any request; undefined once the upgrade has been refused. */
function admitUpgrade(upgrade: Upgrade): UpgradeRoute | undefined {
  const { deps, request } = upgrade
  const unrouted = { slice: null, side: deps.config.fallthrough }
  const refuse = (error: FicusError, routing: UpgradeRoute['routing'] = unrouted): undefined => {
    failUpgrade(upgrade, error, routing)
    return undefined
  }
  if (deps.closing()) return refuse(fail.shuttingDown('the gateway is shutting down; retry on another instance'))
  const refused = checkHead(request, deps.config.limits)
  if (refused) return refuse(refused)
  // RFC 6455 §4.1: the opening handshake is a GET; a body would be relayed as WebSocket data.
  const withBody =
    request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0')
  if (request.method !== 'GET' || withBody) return refuse(fail.badRequest('a WebSocket upgrade must be a GET without a body', { status: 400 }))
  const { path, query } = splitUrl(request.url ?? '/')
  const verdict = checkPath(path)
  if (!verdict.ok) return refuse(fail.pathRejected(verdict.reason))

  const peer = (upgrade.socket as Partial<Socket>).remoteAddress ?? ''
  const chosen = selectTarget(deps.config, deps.table, deps.authorityOf, deps.fallthroughTargets, {
    method: 'GET',
    path,
    query,
    headers: request.headers,
    ip: peer,
  })
  const routing = { slice: chosen.match?.slice.id ?? null, side: chosen.side }
  if (chosen.match && !chosen.match.slice.websocket)
    return refuse(fail.upgradeRefused(`slice ${chosen.match.slice.id} does not take WebSocket upgrades`), routing)
  // A tunnel is not mapped through identity maps: the side would get ids it does not know.
  if (needsIdentity(chosen))
    return refuse(fail.upgradeRefused(`the ${chosen.side} side of this route needs mapped ids, which WebSocket upgrades do not get`), routing)
  return { path, query, chosen, routing }
}

/** Sends the upgrade to the upstream, and relays whatever it answers. */
function openUpstream(upgrade: Upgrade, route: UpgradeRoute): ClientRequest {
  const { deps, request, socket } = upgrade
  const { chosen } = route
  const client = deps.pools.get(chosen.target.upstream)
  const url = new URL(client.config.origin)
  const encrypted = (socket as { encrypted?: boolean }).encrypted === true
  const headers = upstreamRequestHeaders(request.headers, chosen.target, {
    requestId: upgrade.id,
    peerAddress: (socket as Partial<Socket>).remoteAddress,
    protocol: encrypted ? 'https' : 'http',
    host: request.headers.host,
    dropped: deps.dropped,
  })
  headers.connection = 'upgrade'
  headers.upgrade = 'websocket'
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  const upstream = send({
    method: 'GET',
    hostname: url.hostname,
    port: url.port,
    path: client.config.basePath + chosen.upstreamPath + route.query,
    headers,
    ...tlsOptions(client.config),
  })
  upstream.setTimeout(client.config.timeoutMs, () =>
    upstream.destroy(fail.upstreamTimeout(`${chosen.target.upstream} did not answer the upgrade within ${client.config.timeoutMs} ms`)),
  )
  socket.once('error', () => upstream.destroy())
  socket.once('close', () => upstream.destroy())

  let answered = false
  upstream.once('upgrade', (response: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
    answered = true
    upstream.setTimeout(0)
    joinTunnel(upgrade, route, response, upstreamSocket, upstreamHead)
  })
  // The upstream declined the upgrade: its answer is the client's.
  upstream.once('response', (response: IncomingMessage) => {
    answered = true
    const status = response.statusCode ?? 502
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headLines({ ...clientResponseHeaders(response.headers), connection: 'close' })}${marks(upgrade, route)}\r\n`,
    )
    response.pipe(socket)
    logUpgrade(upgrade, route, status, { upgraded: false })
  })
  upstream.once('error', (err) => {
    if (answered || !socket.writable) return
    const error =
      err instanceof FicusError
        ? err
        : fail.upstreamUnavailable(`${chosen.target.upstream} could not be reached for the upgrade (${(err as NodeJS.ErrnoException).code ?? err.message})`)
    failUpgrade(upgrade, error, route.routing)
  })
  return upstream
}

/** Relays the upstream's 101 and joins the two connections into one tunnel. */
function joinTunnel(upgrade: Upgrade, route: UpgradeRoute, response: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer): void {
  const { deps, socket, tunnels } = upgrade
  const { slice } = route.routing
  // The gateway began to close while the upstream was answering: no new tunnel outlives it.
  if (deps.closing()) {
    upstreamSocket.destroy()
    socket.destroy()
    return
  }
  // The upgrade's own fields (Upgrade, Connection, Sec-WebSocket-Accept) are hop-by-hop: relayed as they are.
  let text = `HTTP/1.1 101 ${STATUS_CODES[101] ?? 'Switching Protocols'}\r\n`
  for (let i = 0; i < response.rawHeaders.length; i += 2) text += `${response.rawHeaders[i] ?? ''}: ${response.rawHeaders[i + 1] ?? ''}\r\n`
  socket.write(`${text}${marks(upgrade, route)}\r\n`)
  if (upstreamHead.length > 0) socket.write(upstreamHead)
  if (upgrade.head.length > 0) upstreamSocket.write(upgrade.head)
  upstreamSocket.on('error', () => socket.destroy())
  socket.on('error', () => upstreamSocket.destroy())
  upstreamSocket.once('close', () => socket.destroy())
  socket.once('close', () => {
    upstreamSocket.destroy()
    if (tunnels.delete(socket)) deps.metrics?.trackTunnel(slice, -1)
  })
  tunnels.add(socket)
  deps.metrics?.trackTunnel(slice, 1)
  upstreamSocket.pipe(socket).pipe(upstreamSocket)
  logUpgrade(upgrade, route, 101)
}

/** The gateway's own response fields on a relayed answer. */
function marks(upgrade: Upgrade, route: UpgradeRoute): string {
  const { responseHeaders } = upgrade.deps.config
  const { slice, side } = route.routing
  return `x-request-id: ${upgrade.id}\r\n${slice !== null && responseHeaders.slice ? `x-ficus-slice: ${slice}\r\n` : ''}${responseHeaders.authority ? `x-ficus-authority: ${side}\r\n` : ''}`
}

function logUpgrade(upgrade: Upgrade, route: UpgradeRoute, status: number, extra: Record<string, unknown> = {}): void {
  const { deps } = upgrade
  const { slice, side } = route.routing
  const ms = Math.round((performance.now() - upgrade.started) * 10) / 10
  deps.metrics?.recordRequest(slice, side, status, ms / 1000)
  deps.metrics?.recordUpgrade(slice, side, status === 101 ? 'upgraded' : 'declined')
  deps.logger.info(
    {
      reqId: upgrade.id,
      slice,
      authority: side,
      method: 'GET',
      path: route.path,
      upstream: route.chosen.target.upstream,
      status,
      upgrade: 'websocket',
      upstreamMs: ms,
      ...extra,
    },
    'request',
  )
}
