import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

const MB = 1024 * 1024
const TOTAL = 20 * MB
const CHUNK = 64 * 1024

let gateway: TestGateway | undefined
let upstream: TestUpstream | undefined

afterEach(async () => {
  await gateway?.stop()
  await upstream?.close()
  gateway = undefined
  upstream = undefined
})

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))])
}

// Each test holds back the second part of a 20 MB body until the far end has seen the first part.
// A gateway that buffered whole bodies would deadlock there and fail on the `within` deadline.
describe('streaming', () => {
  it('streams a 20 MB response to the client before the upstream has finished sending it', async () => {
    const payload = randomBytes(TOTAL)
    const clientGotFirstBytes = deferred()
    let upstreamFinishedAt = 0
    upstream = await startUpstream('big', async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) })
      response.write(payload.subarray(0, MB))
      await clientGotFirstBytes.promise
      for (let offset = MB; offset < TOTAL; offset += CHUNK) {
        if (!response.write(payload.subarray(offset, offset + CHUNK))) await new Promise((resolve) => response.once('drain', resolve))
      }
      response.end()
      upstreamFinishedAt = Date.now()
    })
    gateway = await startTestGateway(sampleConfig(upstream.url, 'http://127.0.0.1:9'))

    const result = await within(
      new Promise<{ length: number; sha256: string; firstBytesAt: number; contentLength: string | undefined }>((resolve, reject) => {
        const hash = createHash('sha256')
        let length = 0
        let firstBytesAt = 0
        httpRequest(`${gateway!.url}/policy/P-1/status`, { agent: false }, (response) => {
          response.on('data', (chunk: Buffer) => {
            if (length === 0) {
              firstBytesAt = Date.now()
              clientGotFirstBytes.resolve()
            }
            length += chunk.length
            hash.update(chunk)
          })
          response.on('end', () => resolve({ length, sha256: hash.digest('hex'), firstBytesAt, contentLength: response.headers['content-length'] }))
          response.on('error', reject)
        })
          .on('error', reject)
          .end()
      }),
      10_000,
      'the 20 MB response',
    )
    expect(result.length).toBe(TOTAL)
    expect(result.contentLength).toBe(String(TOTAL))
    expect(result.sha256).toBe(createHash('sha256').update(payload).digest('hex'))
    expect(result.firstBytesAt).toBeLessThanOrEqual(upstreamFinishedAt)
  })

  it('streams a 20 MB chunked upload to the upstream before the client has finished sending it', async () => {
    const payload = randomBytes(TOTAL)
    const upstreamGotFirstBytes = deferred()
    upstream = await startUpstream(
      'sink',
      async (request, response) => {
        const hash = createHash('sha256')
        let length = 0
        for await (const chunk of request) {
          if (length === 0) upstreamGotFirstBytes.resolve()
          length += (chunk as Buffer).length
          hash.update(chunk as Buffer)
        }
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ length, sha256: hash.digest('hex') }))
      },
      { streamBody: true },
    )
    // Above the default 10 MiB body limit: the gateway is told to take it.
    const config = sampleConfig(upstream.url, 'http://127.0.0.1:9', { gateway: { limits: { maxBodyBytes: 64 * MB } } })
    config.slices['policy-status']!.routes.push({ method: 'PUT', path: '/documents/:id' })
    gateway = await startTestGateway(config)

    const answer = await within(
      new Promise<string>((resolve, reject) => {
        const request = httpRequest(
          `${gateway!.url}/documents/D-1`,
          { method: 'PUT', agent: false, headers: { 'content-type': 'application/octet-stream' } },
          (response) => {
            let body = ''
            response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
            response.on('end', () => resolve(body))
          },
        )
        request.on('error', reject)
        void (async () => {
          request.write(payload.subarray(0, MB))
          await upstreamGotFirstBytes.promise
          for (let offset = MB; offset < TOTAL; offset += CHUNK) {
            if (!request.write(payload.subarray(offset, offset + CHUNK))) await new Promise((resolve) => request.once('drain', resolve))
          }
          request.end()
        })()
      }),
      10_000,
      'the 20 MB upload',
    )
    expect(JSON.parse(answer)).toEqual({ length: TOTAL, sha256: createHash('sha256').update(payload).digest('hex') })
    expect(upstream.requests[0]?.headers['transfer-encoding']).toBe('chunked')
  })
})
