import { request as httpRequest, type IncomingMessage, STATUS_CODES } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { AuthorityState } from '../authority/authority-store.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, SideTarget } from '../config/types.ts'
import { FicusError } from '../errors/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { RouteTable } from '../routing/route-table.ts'
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import type { OutgoingHeaders } from '../http/hop-by-hop.ts'
import { tlsOptions, type UpstreamPools } from '../upstream/upstream-pools.ts'
import { checkHead, requestId, writeRawError } from './front-door.ts'
import { checkPath } from './path-safety.ts'
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
    const id = requestId(request.headers['x-request-id'])
    const started = performance.now()
    const fail = (error: FicusError, routing: { slice: string | null; side: Side }): void => {
      deps.logger.warn({ reqId: id, code: error.code, reason: error.message, slice: routing.slice, upgrade: 'websocket' }, 'request failed')
      deps.metrics?.recordRequest(routing.slice, routing.side, error.statusCode, null)
      deps.metrics?.recordUpgrade(routing.slice, routing.side, error.statusCode >= 500 && error.code !== 'FICUS_ERR_UPGRADE_REFUSED' && error.code !== 'FICUS_ERR_SHUTTING_DOWN' ? 'failed' : 'refused')
      writeRawError(socket, error, id)
    }
    const unrouted = { slice: null, side: deps.config.fallthrough }
    if (deps.closing()) return fail(new FicusError('FICUS_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another instance'), unrouted)
    const refused = checkHead(request, deps.config.limits)
    if (refused) return fail(refused, unrouted)
    // RFC 6455 §4.1: the opening handshake is a GET; a body would be relayed as WebSocket data.
    const withBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0')
    if (request.method !== 'GET' || withBody) return fail(new FicusError('FICUS_ERR_BAD_REQUEST', 'a WebSocket upgrade must be a GET without a body', { status: 400 }), unrouted)
    const { path, query } = splitUrl(request.url ?? '/')
    const verdict = checkPath(path)
    if (!verdict.ok) return fail(new FicusError('FICUS_ERR_PATH_REJECTED', verdict.reason), unrouted)

    const peer = (socket as Partial<Socket>).remoteAddress
    const chosen = selectTarget(deps.config, deps.table, deps.authorityOf, deps.fallthroughTargets, { method: 'GET', path, query, headers: request.headers, ip: peer ?? '' })
    const routing = { slice: chosen.match?.slice.id ?? null, side: chosen.side }
    if (chosen.match && !chosen.match.slice.websocket) return fail(new FicusError('FICUS_ERR_UPGRADE_REFUSED', `slice ${chosen.match.slice.id} does not take WebSocket upgrades`), routing)

    const client = deps.pools.get(chosen.target.upstream)
    const url = new URL(client.config.origin)
    const encrypted = (socket as { encrypted?: boolean }).encrypted === true
    const headers = upstreamRequestHeaders(request.headers, chosen.target, {
      requestId: id,
      peerAddress: peer,
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
      path: client.config.basePath + chosen.upstreamPath + query,
      headers,
      ...tlsOptions(client.config),
    })
    pending.add(upstream)
    upstream.once('close', () => pending.delete(upstream))
    upstream.setTimeout(client.config.timeoutMs, () => upstream.destroy(new FicusError('FICUS_ERR_UPSTREAM_TIMEOUT', `${chosen.target.upstream} did not answer the upgrade within ${client.config.timeoutMs} ms`)))
    socket.once('error', () => upstream.destroy())
    socket.once('close', () => upstream.destroy())

    const log = (status: number, extra: Record<string, unknown> = {}): void => {
      const ms = Math.round((performance.now() - started) * 10) / 10
      deps.metrics?.recordRequest(routing.slice, routing.side, status, ms / 1000)
      deps.metrics?.recordUpgrade(routing.slice, routing.side, status === 101 ? 'upgraded' : 'declined')
      deps.logger.info({ reqId: id, slice: routing.slice, authority: routing.side, method: 'GET', path, upstream: chosen.target.upstream, status, upgrade: 'websocket', upstreamMs: ms, ...extra }, 'request')
    }
    const marks = `x-request-id: ${id}\r\n${routing.slice !== null && deps.config.responseHeaders.slice ? `x-ficus-slice: ${routing.slice}\r\n` : ''}${deps.config.responseHeaders.authority ? `x-ficus-authority: ${routing.side}\r\n` : ''}`

    let answered = false
    upstream.once('upgrade', (response, upstreamSocket: Socket, upstreamHead: Buffer) => {
      answered = true
      upstream.setTimeout(0)
      pending.delete(upstream)
      // The gateway began to close while the upstream was answering: no new tunnel outlives it.
      if (deps.closing()) {
        upstreamSocket.destroy()
        socket.destroy()
        return
      }
      // The upgrade's own fields (Upgrade, Connection, Sec-WebSocket-Accept) are hop-by-hop: relayed as they are.
      let text = `HTTP/1.1 101 ${STATUS_CODES[101] ?? 'Switching Protocols'}\r\n`
      for (let i = 0; i < response.rawHeaders.length; i += 2) text += `${response.rawHeaders[i] ?? ''}: ${response.rawHeaders[i + 1] ?? ''}\r\n`
      socket.write(`${text}${marks}\r\n`)
      if (upstreamHead.length > 0) socket.write(upstreamHead)
      if (head.length > 0) upstreamSocket.write(head)
      upstreamSocket.on('error', () => socket.destroy())
      socket.on('error', () => upstreamSocket.destroy())
      upstreamSocket.once('close', () => socket.destroy())
      socket.once('close', () => {
        upstreamSocket.destroy()
        if (tunnels.delete(socket)) deps.metrics?.trackTunnel(routing.slice, -1)
      })
      tunnels.add(socket)
      deps.metrics?.trackTunnel(routing.slice, 1)
      upstreamSocket.pipe(socket).pipe(upstreamSocket)
      log(101)
    })
    // The upstream declined the upgrade: its answer is the client's.
    upstream.once('response', (response) => {
      answered = true
      const status = response.statusCode ?? 502
      const body = clientResponseHeaders(response.headers)
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headLines({ ...body, connection: 'close' })}${marks}\r\n`)
      response.pipe(socket)
      log(status, { upgraded: false })
    })
    upstream.once('error', (err) => {
      if (answered || !socket.writable) return
      fail(
        err instanceof FicusError ? err : new FicusError('FICUS_ERR_UPSTREAM_UNAVAILABLE', `${chosen.target.upstream} could not be reached for the upgrade (${(err as NodeJS.ErrnoException).code ?? err.message})`),
        routing,
      )
    })
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
