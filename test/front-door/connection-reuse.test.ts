import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'

/**
 * An upstream that races its keep-alive: it answers the first request on every connection (keeping
 * it open), and closes the connection without a byte when a second request arrives on it — what an
 * upstream whose idle timeout is shorter than ours does, seen from the gateway.
 */
interface RacingUpstream {
  readonly url: string
  /** Request lines received, in order, and whether each was answered. */
  readonly seen: { readonly line: string; readonly answered: boolean }[]
  close(): Promise<void>
}

async function startRacingUpstream(): Promise<RacingUpstream> {
  const seen: { line: string; answered: boolean }[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    let requests = 0
    let pending = ''
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1')
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const headText = pending.slice(0, end)
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headText)?.[1] ?? 0)
        if (pending.length < end + 4 + length) return
        pending = pending.slice(end + 4 + length)
        requests += 1
        const line = headText.split('\r\n')[0] ?? ''
        if (requests > 1) {
          seen.push({ line, answered: false })
          socket.destroy()
          return
        }
        seen.push({ line, answered: true })
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nkeep-alive: timeout=60\r\n\r\n{"ok":true}')
      }
    })
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

let racing: RacingUpstream
let gateway: TestGateway
let strict: TestGateway

function config(retry: boolean) {
  const input = sampleConfig(racing.url, 'http://127.0.0.1:9', {
    slices: {
      'policy-status': { description: 'Is the policy in force?', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:id/status' }] },
      claims: {
        description: 'Lodging a claim',
        authority: 'legacy',
        routes: [
          { method: 'POST', path: '/claims' },
          { method: 'DELETE', path: '/claims/:id' },
        ],
      },
    },
  })
  input.upstreams['legacy'] = { url: racing.url, connections: 1, ...(retry ? {} : { retry: { idempotent: false } }) }
  return input
}

beforeAll(async () => {
  racing = await startRacingUpstream()
  gateway = await startTestGateway(config(true))
  strict = await startTestGateway(config(false))
})
afterAll(async () => {
  await gateway.stop()
  await strict.stop()
  await racing.close()
})

const retries = async (on: TestGateway): Promise<number> =>
  Number(/^ficus_upstream_retries_total\{upstream="legacy"\} (\d+)$/m.exec(await (await fetch(`${on.adminUrl}/metrics`)).text())?.[1] ?? 0)

describe('pooled connections closed under a request', () => {
  it('sends a GET again once on a fresh connection: twenty GETs, twenty 200s, the retries counted', async () => {
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${gateway.url}/policy/P-${i}/status`)
      expect(response.status).toBe(200)
      await response.text()
    }
    // Every reused connection was closed under its request: about every other GET was sent twice.
    const lost = racing.seen.filter((entry) => !entry.answered).length
    expect(lost).toBeGreaterThanOrEqual(5)
    expect(await retries(gateway)).toBe(lost)
  })

  it('never sends a POST again: it gets 502 and the upstream saw it once', async () => {
    const warm = await fetch(`${gateway.url}/policy/P-warm/status`)
    await warm.text()
    const before = racing.seen.length
    const response = await fetch(`${gateway.url}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"policy":"P-1"}' })
    expect(response.status).toBe(502)
    expect((await response.json()) as { code: string }).toMatchObject({ code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE' })
    expect(racing.seen.slice(before).filter((entry) => entry.line.startsWith('POST'))).toEqual([{ line: 'POST /claims HTTP/1.1', answered: false }])
  })

  it('retries a DELETE without a body like a GET', async () => {
    const warm = await fetch(`${gateway.url}/policy/P-warm/status`)
    await warm.text()
    const response = await fetch(`${gateway.url}/claims/C-1`, { method: 'DELETE' })
    expect(response.status).toBe(200)
  })

  it('with retry.idempotent false, the GET fails instead (502), and nothing is counted', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${strict.url}/policy/P-${i}/status`)
      statuses.push(response.status)
      await response.text()
    }
    expect(statuses).toContain(502)
    expect(await retries(strict)).toBe(0)
  })
})
