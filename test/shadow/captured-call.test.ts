import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Socket } from 'node:net'
import { Pool, type Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { Capture } from '../../src/shadow/body-capture.ts'
import { CallDeadline, capturedCall, type CapturedCall } from '../../src/shadow/captured-call.ts'
import { releaseControllerAtEnd } from '../../src/upstream/release-controller.ts'
import { startUpstream, type Handler, type TestUpstream } from '../helpers/upstream-server.ts'

// The shadow call's own HTTP exchange (undici dispatch, no response stream): its deadline covers a
// body that drips, a call that never reached a connection, and the body is hashed whole past the cap.
let upstream: TestUpstream | undefined
let pool: Pool | undefined
afterEach(async () => {
  await pool?.destroy()
  await upstream?.close()
  pool = undefined
  upstream = undefined
})

const CALL: CapturedCall = { method: 'GET', path: '/p/1', headers: { 'x-ficus-traffic': 'shadow' }, body: null, cap: 1024, deadlineMs: 400 }

async function serve(handler: Handler, connections = 4): Promise<Pool> {
  upstream = await startUpstream('shadow', handler)
  pool = new Pool(upstream.url, { connections })
  return pool
}

describe('a captured call', () => {
  it('answers status, headers, latency and the body with the hash of all of it, keeping only the cap', async () => {
    const body = Buffer.alloc(5000, 'x')
    const client = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'x-side': 'modern' })
      response.write(body.subarray(0, 1000))
      setTimeout(() => response.end(body.subarray(1000)), 20)
    })
    const answer = await capturedCall(client, CALL)
    expect(answer.status).toBe(200)
    expect(answer.headers['x-side']).toBe('modern')
    expect(answer.latencyMs).toBeGreaterThanOrEqual(0)
    expect(answer.body).toMatchObject({ complete: false, length: 5000, sha256: `sha256:${createHash('sha256').update(body).digest('hex')}` })
    expect(answer.body.bytes).toEqual(body.subarray(0, 1024))
    expect(upstream?.requests[0]?.headers['x-ficus-traffic']).toBe('shadow')
  })

  it('a body that drips past the deadline fails with the deadline, and the connection is closed', async () => {
    let socket: Socket | undefined
    const client = await serve((request, response) => {
      socket = request.socket
      response.writeHead(200, { 'content-type': 'application/json' })
      const drip = setInterval(() => response.write(' '), 50)
      response.on('close', () => clearInterval(drip))
    })
    const started = performance.now()
    await expect(capturedCall(client, CALL)).rejects.toBeInstanceOf(CallDeadline)
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(390)
    expect(elapsed).toBeLessThan(2_000)
    await expect.poll(() => socket?.destroyed, { timeout: 2_000 }).toBe(true)
  })

  it('an upstream that closes in the middle of the body fails the call (not a short answer)', async () => {
    const client = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      response.write('{"a":')
      setTimeout(() => response.socket?.destroy(), 20)
    })
    const failure = await capturedCall(client, CALL).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(Error)
    expect(failure).not.toBeInstanceOf(CallDeadline)
  })

  it('an informational 103 before the answer is not the answer', async () => {
    const client = await serve((_request, response) => {
      response.writeEarlyHints({ link: '</style.css>; rel=preload' }, () => {
        response.writeHead(201, { 'content-type': 'application/json' })
        response.end('{"ok":true}')
      })
    })
    const answer = await capturedCall(client, CALL)
    expect(answer.status).toBe(201)
    expect(answer.body.bytes.toString()).toBe('{"ok":true}')
  })
})

// The queue guarantees hold for a bare pool and for the pools Ficus builds, which let go of undici's
// controller when a call ends (upstream/release-controller.ts).
describe.each([
  ['a pool', (client: Pool): Dispatcher => client],
  ['a pool that lets go of undici’s controller', (client: Pool): Dispatcher => client.compose(releaseControllerAtEnd)],
])('a captured call through %s', (_name, through) => {
  it('a call still waiting for a connection fails at its deadline, and is never sent once one frees', async () => {
    let release: (() => void) | undefined
    const client = through(
      await serve((request, response) => {
        if (request.url === '/hang') release = () => response.end('{}')
        else response.end('{}')
      }, 1),
    )
    const hanging = capturedCall(client, { ...CALL, path: '/hang', deadlineMs: 5_000 })
    await expect.poll(() => release !== undefined).toBe(true)
    const started = performance.now()
    await expect(capturedCall(client, { ...CALL, path: '/queued', deadlineMs: 200 })).rejects.toBeInstanceOf(CallDeadline)
    expect(performance.now() - started).toBeLessThan(1_500)
    release?.()
    await hanging
    // The pool is free again: a new call goes through, and the expired one never reached the upstream.
    await capturedCall(client, { ...CALL, path: '/after' })
    expect(upstream?.requests.map((request) => request.url)).toEqual(['/hang', '/after'])
  })

  it('calls that expire while queued for a connection leave the pool’s connections alone', async () => {
    // Two connections, answers after 300 ms, forty calls with a 100 ms deadline. The calls still
    // queued at their deadline must leave the queue then, not be dispatched later only to be
    // aborted on a connection, which closes it: one new connection per expired call (review).
    let connections = 0
    const server = createServer((_request, response) => void setTimeout(() => response.end('{}'), 300))
    server.on('connection', () => (connections += 1))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 2 })
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          capturedCall(through(pool as Pool), { ...CALL, path: `/slow/${i}`, deadlineMs: 100 }).catch((err: unknown) => err),
        ),
      )
      expect(outcomes.every((outcome) => outcome instanceof CallDeadline)).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 700))
      expect((await capturedCall(through(pool), { ...CALL, path: '/after', deadlineMs: 2_000 })).status).toBe(200)
      expect(connections).toBeLessThanOrEqual(6)
    } finally {
      await pool.destroy()
      pool = undefined
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('a capture at the edge of its cap', () => {
  const whole = Buffer.from('0123456789abcdef')
  const digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`
  const capture = (cap: number, size: number): ReturnType<Capture['captured']> => {
    const taking = new Capture(cap)
    for (let at = 0; at < whole.length; at += size) taking.take(whole.subarray(at, at + size))
    return taking.captured()
  }

  it('keeps a body of exactly the cap whole, however it is chunked', () => {
    for (const size of [1, 3, 16]) expect(capture(16, size), `chunks of ${size}`).toEqual({ bytes: whole, complete: true, length: 16, sha256: digest })
  })

  it('past the cap by one byte: the head kept, the hash of all of it', () => {
    for (const size of [1, 5, 16])
      expect(capture(15, size), `chunks of ${size}`).toEqual({ bytes: whole.subarray(0, 15), complete: false, length: 16, sha256: digest })
  })

  it('with a cap of zero: nothing kept, still the hash of all of it', () => {
    expect(capture(0, 4)).toEqual({ bytes: Buffer.alloc(0), complete: false, length: 16, sha256: digest })
  })
})
