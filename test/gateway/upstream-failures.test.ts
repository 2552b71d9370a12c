import { flip } from '../../src/authority/authority-store.ts'
import { afterEach, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { closedPort, startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

let gateway: TestGateway | undefined
let upstream: TestUpstream | undefined

afterEach(async () => {
  await gateway?.stop()
  await upstream?.close()
  gateway = undefined
  upstream = undefined
})

describe('upstream failures', () => {
  it('answers 502 with a small JSON body naming the slice and request id when the upstream refuses', async () => {
    const port = await closedPort()
    gateway = await startTestGateway(sampleConfig(`http://127.0.0.1:${port}`, 'http://127.0.0.1:9'))
    const response = await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'req-502' } })
    expect(response.status).toBe(502)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.headers['x-request-id']).toBe('req-502')
    expect(response.headers['x-ficus-slice']).toBe('policy-status')
    expect(JSON.parse(response.body)).toEqual({
      error: 'Upstream unavailable',
      code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE',
      message: 'upstream "legacy" refused the connection',
      slice: 'policy-status',
      requestId: 'req-502',
    })
    expect(response.body).not.toMatch(/\bat .*\.ts:\d+/)
  })

  it('answers 502 with slice null for an unmatched request', async () => {
    const port = await closedPort()
    gateway = await startTestGateway(sampleConfig(`http://127.0.0.1:${port}`, 'http://127.0.0.1:9'))
    const response = await send(`${gateway.url}/unclaimed`)
    expect(response.status).toBe(502)
    expect(JSON.parse(response.body)).toMatchObject({ code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE', slice: null })
  })

  it('answers 504 once the upstream has not answered within its timeout', async () => {
    upstream = await startUpstream('hang', () => new Promise<void>(() => undefined))
    const config = sampleConfig(upstream.url, 'http://127.0.0.1:9')
    config.upstreams.legacy = { url: upstream.url, timeoutMs: 300 }
    gateway = await startTestGateway(config)
    const started = Date.now()
    const response = await send(`${gateway.url}/policy/P-1/status`)
    const elapsed = Date.now() - started
    expect(response.status).toBe(504)
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'FICUS_ERR_UPSTREAM_TIMEOUT',
      message: 'upstream "legacy" did not answer within 300 ms',
      slice: 'policy-status',
    })
    // The answer comes from the timeout, not from some later, unrelated limit.
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(5_000)
  })

  it('keeps a timeout below a second to its figure (undici keeps its own on a clock a second coarse)', async () => {
    upstream = await startUpstream('slow', async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      if (!response.destroyed) response.end('{}')
    })
    const config = sampleConfig(upstream.url, 'http://127.0.0.1:9')
    config.upstreams.legacy = { url: upstream.url, timeoutMs: 200 }
    gateway = await startTestGateway(config)
    const started = Date.now()
    const response = await send(`${gateway.url}/policy/P-1/status`)
    expect(response.status).toBe(504)
    // Far from both the 200 ms and the upstream's 2 s: a late timer shows as about a second.
    expect(Date.now() - started).toBeLessThan(900)
  })

  it('does not count a slow upload against the upstream: the timeout starts once the body is sent', async () => {
    upstream = await startUpstream('quick')
    const config = sampleConfig(upstream.url, 'http://127.0.0.1:9', {
      slices: { claims: { description: 'Lodging a claim', authority: 'legacy', routes: [{ method: 'POST', path: '/claims' }] } },
    })
    config.upstreams.legacy = { url: upstream.url, timeoutMs: 200 }
    gateway = await startTestGateway(config)
    const { rawExchange, head } = await import('../helpers/raw-socket.ts')
    const port = Number(new URL(gateway.url).port)
    const chunks = [head('POST', '/claims', { 'content-type': 'text/plain', 'content-length': '8' }), 'ab', 'cd', 'ef', 'gh']
    const answer = await rawExchange(port, chunks, { gapMs: 250 })
    expect(answer.status).toBe(200)
    expect(upstream.requests.at(-1)?.body).toBe('abcdefgh')
  })

  it('answers 502 when the upstream sends something that is not HTTP', async () => {
    const { createServer } = await import('node:net')
    const garbage = createServer((socket) => socket.end('this is not http\r\n\r\n'))
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve))
    const { port } = garbage.address() as { port: number }
    try {
      gateway = await startTestGateway(sampleConfig(`http://127.0.0.1:${port}`, 'http://127.0.0.1:9'))
      const response = await send(`${gateway.url}/policy/P-1/status`)
      expect(response.status).toBe(502)
      expect(JSON.parse(response.body)).toMatchObject({ code: 'FICUS_ERR_UPSTREAM_BAD_RESPONSE' })
    } finally {
      garbage.close()
    }
  })

  it('passes upstream 5xx answers through unchanged: they are answers, not gateway failures', async () => {
    upstream = await startUpstream('failing', (_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' })
      response.end('legacy maintenance window')
    })
    gateway = await startTestGateway(sampleConfig(upstream.url, 'http://127.0.0.1:9'))
    const response = await send(`${gateway.url}/policy/P-1/status`)
    expect(response.status).toBe(503)
    expect(response.headers['retry-after']).toBe('30')
    expect(response.body).toBe('legacy maintenance window')
  })

  it('keeps serving after an upstream failure', async () => {
    const port = await closedPort()
    upstream = await startUpstream('modern')
    gateway = await startTestGateway(sampleConfig(`http://127.0.0.1:${port}`, upstream.url))
    expect((await send(`${gateway.url}/policy/P-1/status`)).status).toBe(502)
    await flip(gateway.store, 'policy-status', { authority: 'modern', actor: 'test', reason: 'legacy is down' })
    expect((await send(`${gateway.url}/policy/P-1/status`)).status).toBe(200)
  })
})

describe('client going away', () => {
  it('aborts the upstream call and logs 499 when the client closes before the answer', async () => {
    const upstreamClosed = new Promise<void>((resolve) => {
      void startUpstream('hang', (request) => {
        request.socket.once('close', () => resolve())
        return new Promise<void>(() => undefined)
      }).then((started) => (upstream = started))
    })
    await until(() => upstream !== undefined, 'upstream started')
    gateway = await startTestGateway(sampleConfig(upstream!.url, 'http://127.0.0.1:9'))
    const { request } = await import('node:http')
    const client = request(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'gone-1' }, agent: false })
    client.on('error', () => undefined)
    client.end()
    await until(() => upstream!.requests.length === 1, 'request at upstream')
    client.destroy()
    await upstreamClosed
    await until(() => gateway!.logs.some((line) => line.reqId === 'gone-1' && line.msg === 'request'), `log line; logs: ${JSON.stringify(gateway.logs)}`)
    const line = gateway.logs.find((entry) => entry.reqId === 'gone-1' && entry.msg === 'request')
    expect(line).toMatchObject({ status: 499, upstreamStatus: null })
  })
})

describe('upstream failing mid-body', () => {
  it('closes the client connection (the status is already sent) and logs the body error', async () => {
    upstream = await startUpstream('breaks', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      response.write('{"partial":')
      setTimeout(() => response.socket?.destroy(), 50)
    })
    gateway = await startTestGateway(sampleConfig(upstream.url, 'http://127.0.0.1:9'))
    await expect(send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'broken-1' } })).rejects.toThrow()
    await until(() => gateway!.logs.some((line) => line.reqId === 'broken-1' && line.msg === 'request'), 'the request log line')
    const line = gateway.logs.find((entry) => entry.reqId === 'broken-1' && entry.msg === 'request')
    expect(line).toMatchObject({ status: 200, upstreamStatus: 200, clientClosed: true })
    expect(typeof line?.bodyError).toBe('string')
  })
})
