import { afterAll, beforeAll } from 'vitest'
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly bodyLength: number
  readonly bodySha256: string
  readonly body: string
}

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void | Promise<void>

export interface TestUpstream {
  readonly url: string
  readonly port: number
  readonly requests: RecordedRequest[]
  close(): Promise<void>
}

/**
 * A real HTTP server on an ephemeral port that records every request. By default it answers 200
 * with a JSON echo of what it saw; `handler` takes over the answer (the body is read beforehand
 * unless `streamBody` is set, in which case the handler gets an empty buffer and reads it itself).
 */
export async function startUpstream(name: string, handler?: Handler, options: { streamBody?: boolean } = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((request, response) => {
    void (async () => {
      let body = Buffer.alloc(0)
      if (!options.streamBody) {
        const chunks: Buffer[] = []
        for await (const chunk of request) chunks.push(chunk as Buffer)
        body = Buffer.concat(chunks)
      }
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
        body: body.length <= 4096 ? body.toString('utf8') : '',
      })
      if (handler) {
        await handler(request, response, body)
        return
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name })
      response.end(JSON.stringify({ upstream: name, method: request.method, url: request.url }))
    })().catch((err: unknown) => {
      response.destroy(err as Error)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A port that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A `legacy` and a `modern` test upstream for the enclosing test file or describe block: started
 * before its tests, closed after them. Read them from the returned object inside tests.
 */
export function upstreamPair(): { readonly legacy: TestUpstream; readonly modern: TestUpstream } {
  const pair = {} as { legacy: TestUpstream; modern: TestUpstream }
  beforeAll(async () => {
    pair.legacy = await startUpstream('legacy')
    pair.modern = await startUpstream('modern')
  })
  afterAll(async () => {
    await pair.legacy.close()
    await pair.modern.close()
  })
  return pair
}
