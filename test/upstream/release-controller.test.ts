import { EventEmitter } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Pool, type Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { releaseControllerAtEnd } from '../../src/upstream/release-controller.ts'
import { startUpstream, type Handler, type TestUpstream } from '../helpers/upstream-server.ts'

// Every upstream call lets go of undici's controller when it ends (upstream/release-controller.ts):
// the answer and the contract of request() unchanged (the queue guarantees: test/shadow/captured-call.test.ts),
// and undici's per-call state collectable while the answer's body is still held.
let upstream: TestUpstream | undefined
let pool: Pool | undefined
afterEach(async () => {
  await pool?.destroy()
  await upstream?.close()
  pool = undefined
  upstream = undefined
})

async function serve(handler: Handler, connections = 4): Promise<Pool> {
  upstream = await startUpstream('legacy', handler)
  pool = new Pool(upstream.url, { connections })
  return pool
}

describe('calls that let go of undici’s controller at their end', () => {
  it('answer as before: status, headers and a body that streams after the headers arrive', async () => {
    let finish: (() => void) | undefined
    const dispatcher = (
      await serve((_request, response) => {
        response.writeHead(201, { 'content-type': 'application/json', 'x-side': 'legacy' })
        response.write('{"first":')
        finish = () => response.end('true}')
      })
    ).compose(releaseControllerAtEnd)
    const answer = await dispatcher.request({ method: 'GET', path: '/p/1' })
    expect(answer.statusCode).toBe(201)
    expect(answer.headers['x-side']).toBe('legacy')
    finish?.()
    expect(await answer.body.text()).toBe('{"first":true}')
  })

  it('a client that goes away aborts the call through the controller it was given', async () => {
    let closed = false
    const dispatcher = (
      await serve((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.write('{')
        request.socket.once('close', () => (closed = true))
      })
    ).compose(releaseControllerAtEnd)
    const signal = new EventEmitter()
    const answer = await dispatcher.request({ method: 'GET', path: '/p/1', signal })
    signal.emit('abort')
    await expect(answer.body.text()).rejects.toBeInstanceOf(Error)
    await expect.poll(() => closed, { timeout: 2_000 }).toBe(true)
  })

  describe('undici’s controller, while the answer’s body is still held', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void

    /** undici's own controller of each call, seen by a handler next to the pool, held weakly. */
    function probe(seen: WeakRef<object>[]): Dispatcher.DispatcherComposeInterceptor {
      return (dispatch) => (options, handler) =>
        dispatch(options, {
          onRequestStart: (controller, context) => {
            seen.push(new WeakRef(controller))
            handler.onRequestStart?.(controller, context)
          },
          onResponseStart: (controller, status, headers, message) => handler.onResponseStart?.(controller, status, headers, message),
          onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
          onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
          onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
        })
    }

    async function heldAfterEnd(release: boolean): Promise<boolean> {
      const client = await serve((_request, response) => void response.end('{"ok":true}'))
      const seen: WeakRef<object>[] = []
      const dispatcher = release ? client.compose(probe(seen), releaseControllerAtEnd) : client.compose(probe(seen))
      const answer = await dispatcher.request({ method: 'GET', path: '/p/1' })
      expect(await answer.body.text()).toBe('{"ok":true}')
      expect(seen[0]?.deref()?.constructor.name).toBe('RequestController')
      for (let round = 0; round < 3; round++) {
        await new Promise((resolve) => setImmediate(resolve))
        gc()
      }
      // The body is still held here, as a proxy holds the answer's stream until the client's response closes.
      expect(answer.body.readableEnded).toBe(true)
      return seen[0]?.deref() !== undefined
    }

    it('is collectable once the call has ended', async () => {
      expect(await heldAfterEnd(true)).toBe(false)
    })

    it('(undici without the release keeps it: when this fails, undici lets go by itself and the release can go)', async () => {
      expect(await heldAfterEnd(false)).toBe(true)
    })
  })
})
