import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

export interface WebSocketEcho {
  readonly url: string
  /** The upgrade requests the server accepted, as received. */
  readonly upgrades: { readonly url: string; readonly headers: IncomingHttpHeaders }[]
  /** Plain (non-upgrade) requests it answered. */
  readonly plain: { readonly url: string; readonly headers: IncomingHttpHeaders }[]
  close(): Promise<void>
}

/** Reads one client frame (masked, as RFC 6455 requires of clients); undefined until it is whole. */
function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined
  const opcode = buffer[0]! & 0x0f
  let length = buffer[1]! & 0x7f
  let offset = 2
  if (length === 126) {
    if (buffer.length < 4) return undefined
    length = buffer.readUInt16BE(2)
    offset = 4
  } else if (length === 127) {
    if (buffer.length < 10) return undefined
    length = Number(buffer.readBigUInt64BE(2))
    offset = 10
  }
  const masked = (buffer[1]! & 0x80) !== 0
  const mask = masked ? buffer.subarray(offset, offset + 4) : undefined
  if (masked) offset += 4
  if (buffer.length < offset + length) return undefined
  const payload = Buffer.from(buffer.subarray(offset, offset + length))
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!
  return { opcode, payload, size: offset + length }
}

/** One unmasked server frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length
  const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
  return Buffer.concat([header, payload])
}

/**
 * A minimal WebSocket server on an ephemeral port: it accepts upgrades on any path whose URL does
 * not contain `decline` (those get a 403; with `slow`, the 101 comes after 800 ms), and echoes every text or binary message prefixed with
 * `echo:`. Plain requests get a 200 JSON answer saying whether an `Upgrade` header arrived.
 */
export async function startWebSocketEcho(): Promise<WebSocketEcho> {
  const upgrades: WebSocketEcho['upgrades'] = []
  const plain: WebSocketEcho['plain'] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((request, response) => {
    plain.push({ url: request.url ?? '', headers: request.headers })
    const body = JSON.stringify({ upgradeSeen: request.headers.upgrade ?? null })
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    response.end(body)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const accept = async (request: IncomingMessage, socket: Socket): Promise<void> => {
    if ((request.url ?? '').includes('decline')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nconnection: close\r\n\r\ndeclined')
      return
    }
    upgrades.push({ url: request.url ?? '', headers: request.headers })
    if ((request.url ?? '').includes('slow')) await new Promise((resolve) => setTimeout(resolve, 800))
    if (socket.destroyed) return
    const accept = createHash('sha1')
      .update(`${String(request.headers['sec-websocket-key'])}${WEBSOCKET_GUID}`)
      .digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    let pending = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data])
      for (let next = readFrame(pending); next; next = readFrame(pending)) {
        pending = pending.subarray(next.size)
        if (next.opcode === 0x8) {
          socket.end(frame(0x8, next.payload.subarray(0, 2)))
          return
        }
        if (next.opcode === 0x9) socket.write(frame(0xa, next.payload))
        else if (next.opcode === 0x1 || next.opcode === 0x2) socket.write(frame(next.opcode, Buffer.concat([Buffer.from('echo:'), next.payload])))
      }
    })
    socket.on('error', () => socket.destroy())
  }
  server.on('upgrade', (request: IncomingMessage, socket: Socket) => void accept(request, socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    plain,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
