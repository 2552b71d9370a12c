import { randomUUID } from 'node:crypto'
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { Transform, type TransformCallback } from 'node:stream'
import type { Logger } from 'pino'
import type { Limits } from '../config/types.ts'
import { ERROR_CODES, type ErrorCode, fail, FicusError } from '../errors/errors.ts'

/**
 * The front door: the limits a client's request must keep, checked before anything is forwarded,
 * and every answer the gateway gives on its own at the connection level — in the documented error
 * shape `{ error, code, message, requestId }`, never Node's or fastify's default text.
 */

/** Node ≥ 22.21 and 24.9 take `shouldUpgradeCallback` (the typings of the 22 line do not know it yet). */
interface UpgradeAwareOptions extends ServerOptions {
  shouldUpgradeCallback?: (request: IncomingMessage) => boolean
}

/** Room the request line takes beyond the URL, in Node's header size count. */
const REQUEST_LINE_SLACK = 1_024

// A request id we accept from a client: printable, no spaces, bounded (it ends up in logs and events).
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && VALID_REQUEST_ID.test(header) ? header : randomUUID()
}

/** True for an `Upgrade` the gateway proxies: WebSocket. Others are answered without upgrading. */
export function wantsWebSocket(request: IncomingMessage): boolean {
  const upgrade = request.headers.upgrade
  return typeof upgrade === 'string' && upgrade.split(',').some((token) => token.trim().toLowerCase() === 'websocket')
}

/**
 * The HTTP server with the limits in force: Node's own header size bound made room for the URL
 * limit (so a long URL gets 414 from the checks below, not 431), the head and request deadlines
 * checked every second (Node's default check runs every 30 s), keep-alive, and only WebSocket
 * upgrades taken off the request path.
 */
export function serverFactory(limits: Limits): (handler: RequestListener) => Server {
  return (handler) => {
    const options: UpgradeAwareOptions = {
      maxHeaderSize: limits.maxHeaderBytes + limits.maxUrlLength + REQUEST_LINE_SLACK,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(limits.headerTimeoutMs / 4))),
      shouldUpgradeCallback: wantsWebSocket,
      // Checked in checkHead, so the answer has our shape (Node's own is a bare 400).
      requireHostHeader: false,
    }
    const server = createServer(options, handler)
    // One more than allowed: Node silently drops the fields past this count, so counting one too
    // many is how a request with too many is told apart (and refused) rather than cut short.
    server.maxHeadersCount = limits.maxHeaderCount + 1
    // Expectations other than 100-continue: our 417, not Node's bare one.
    server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
      const id = requestId(request.headers['x-request-id'])
      const error = fail.expectationFailed(`Expect ${JSON.stringify(request.headers.expect ?? '')} cannot be met: only 100-continue is understood`)
      const body = errorBody(error, id)
      response.writeHead(error.statusCode, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'x-request-id': id,
        connection: 'close',
      })
      response.end(body)
    })
    return server
  }
}

/** How many times a header field occurs in the raw head (names compared case-insensitively). */
function occurrences(request: IncomingMessage, name: string): number {
  let count = 0
  for (let i = 0; i < request.rawHeaders.length; i += 2) if (request.rawHeaders[i]?.toLowerCase() === name) count += 1
  return count
}

/**
 * The front-door check of a request head: HTTP version, Host, transfer coding, a fragment in the
 * target, URL length, header count and bytes. What Node's parser lets through but an upstream could
 * read otherwise is refused here, before anything is forwarded.
 */
export function checkHead(request: IncomingMessage, limits: Limits): FicusError | undefined {
  const url = request.url ?? ''
  if (request.httpVersion !== '1.1' && request.httpVersion !== '1.0')
    return fail.httpVersion(`HTTP/${request.httpVersion} is not accepted: HTTP/1.1 or HTTP/1.0 only`)
  const hosts = occurrences(request, 'host')
  if (hosts > 1) return fail.badRequest('the request has more than one Host header', { status: 400 })
  if (hosts === 0 && request.httpVersion === '1.1') return fail.badRequest('an HTTP/1.1 request needs a Host header', { status: 400 })
  const coding = request.headers['transfer-encoding']
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    return fail.transferCoding(`Transfer-Encoding ${JSON.stringify(coding)} is not accepted: only "chunked" is forwarded unchanged`)
  }
  if (url.length > limits.maxUrlLength) return fail.urlTooLong(`the request target is ${url.length} bytes; at most ${limits.maxUrlLength} are accepted`)
  if (url.includes('#')) return fail.pathRejected('the request target contains "#" (a fragment is never sent to a server)')
  const count = request.rawHeaders.length / 2
  if (count > limits.maxHeaderCount) return fail.headersTooLarge(`the request has more than ${limits.maxHeaderCount} header fields`)
  let bytes = 0
  for (const field of request.rawHeaders) bytes += field.length + 2
  if (bytes > limits.maxHeaderBytes)
    return fail.headersTooLarge(`the request's header fields are ${bytes} bytes; at most ${limits.maxHeaderBytes} are accepted`)
  return undefined
}

/** The one JSON error body, for answers written straight to a socket. */
export function errorBody(error: FicusError, id: string): string {
  return JSON.stringify({ error: ERROR_CODES[error.code].title, code: error.code, message: error.message, requestId: id })
}

/** Writes an error answer on a raw connection and closes it (head-level errors, CONNECT, refused upgrades). */
export function writeRawError(socket: Duplex, error: FicusError, id: string = randomUUID()): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = errorBody(error, id)
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`,
  )
  // A client that never reads nor closes must not hold the connection (nor the gateway's close) open.
  setTimeout(() => socket.destroy(), RAW_ERROR_GRACE_MS).unref()
}

/** How long a connection answered with a raw error stays for the client to read the answer. */
const RAW_ERROR_GRACE_MS = 1_000

const PARSER_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'FICUS_ERR_REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'FICUS_ERR_HEADERS_TOO_LARGE',
}

/**
 * fastify's `clientErrorHandler`: a request Node could not parse (bad framing, bad header bytes,
 * smuggling attempts), one whose head was too large, or one too slow to arrive gets our error
 * shape, and the connection is closed. Nothing was forwarded: the request never reached a route.
 */
export function clientErrorHandler(logger: Logger, limits: Limits): (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    let code = PARSER_ERRORS[err.code ?? ''] ?? 'FICUS_ERR_BAD_REQUEST'
    // A head too large for the parser because of its URL is a 414, not a 431.
    if (code === 'FICUS_ERR_HEADERS_TOO_LARGE' && requestLineLength(err.rawPacket) > limits.maxUrlLength) code = 'FICUS_ERR_URL_TOO_LONG'
    const message =
      code === 'FICUS_ERR_REQUEST_TIMEOUT'
        ? 'the request did not arrive within the gateway’s deadline'
        : code === 'FICUS_ERR_HEADERS_TOO_LARGE'
          ? 'the request head is larger than the gateway accepts'
          : code === 'FICUS_ERR_URL_TOO_LONG'
            ? `the request target is longer than the ${limits.maxUrlLength} bytes the gateway accepts`
            : `the request could not be parsed (${err.code ?? 'malformed'})`
    const error = new FicusError(code, message, code === 'FICUS_ERR_BAD_REQUEST' ? { status: 400 } : {})
    const id = randomUUID()
    logger.warn({ reqId: id, code, reason: err.code ?? err.message }, 'request refused at the front door')
    writeRawError(socket, error, id)
  }
}

/** The length of the request line in the bytes the parser had (the whole packet when it has no line end yet). */
function requestLineLength(packet: unknown): number {
  if (!Buffer.isBuffer(packet)) return 0
  const end = packet.indexOf('\r\n')
  return end === -1 ? packet.length : end
}

/** CONNECT asks for a tunnel, which a reverse proxy does not give: refused with an answer, never dropped. */
export function refuseConnect(logger: Logger): (request: IncomingMessage, socket: Duplex) => void {
  return (request, socket) => {
    const id = requestId(request.headers['x-request-id'])
    logger.warn({ reqId: id, method: 'CONNECT' }, 'CONNECT refused')
    writeRawError(socket, fail.methodNotAllowed('CONNECT is not accepted: the gateway is a reverse proxy, not a tunnel'), id)
  }
}

/**
 * Counts a request body on its way through and fails it (FICUS_ERR_BODY_TOO_LARGE) past `max`
 * bytes: the upstream call reading it is aborted, so nothing past the limit is forwarded.
 */
export class BodyLimit extends Transform {
  readonly #max: number
  #seen = 0

  constructor(max: number) {
    super()
    this.#max = max
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#max) {
      callback(bodyTooLarge(this.#max))
      return
    }
    callback(null, chunk)
  }
}

export function bodyTooLarge(max: number): FicusError {
  return fail.bodyTooLarge(`the request body is larger than the ${max} bytes the gateway accepts`)
}
