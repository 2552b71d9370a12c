import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { head, rawExchange } from '../helpers/raw-socket.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { startWebSocketEcho, type WebSocketEcho } from '../helpers/websocket-echo.ts'

// Legacy is a WebSocket echo server; modern records what it gets (it must never see an upgrade).
let echo: WebSocketEcho
let modern: TestUpstream
let gateway: TestGateway
let port: number

const UPGRADE = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }

function config(legacyUrl: string, modernUrl: string) {
  const input = sampleConfig(legacyUrl, modernUrl)
  input.slices['live'] = { description: 'Live quotes', authority: 'legacy', routes: [{ method: 'GET', path: '/live/:id' }], shadow: {} }
  input.slices['quiet'] = { description: 'No sockets here', authority: 'legacy', routes: [{ method: 'GET', path: '/quiet/:id' }], websocket: false }
  return input
}

beforeAll(async () => {
  echo = await startWebSocketEcho()
  modern = await startUpstream('modern')
  gateway = await startTestGateway(config(echo.url, modern.url))
  port = Number(new URL(gateway.url).port)
})
afterAll(async () => {
  await gateway.stop()
  await echo.close()
  await modern.close()
})

/** Opens a WebSocket (Node's own client) and resolves once it is open. */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.addEventListener('open', () => resolve(socket), { once: true })
    socket.addEventListener('error', () => reject(new Error(`could not open ${url}`)), { once: true })
  })
}

function nextMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve) => socket.addEventListener('message', (event) => resolve(String(event.data)), { once: true }))
}

function closed(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.addEventListener('close', (event) => resolve(event.code), { once: true }))
}

async function metrics(): Promise<string> {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text()
}

describe('WebSocket upgrades', () => {
  it('echo through a slice: proxied to its authoritative side with the query, never shadowed, logged and counted', async () => {
    const socket = await open(`ws://127.0.0.1:${port}/live/7?topic=quotes`)
    socket.send('hello')
    expect(await nextMessage(socket)).toBe('echo:hello')
    socket.send('second')
    expect(await nextMessage(socket)).toBe('echo:second')
    socket.close(1000)
    await closed(socket)

    expect(echo.upgrades.at(-1)?.url).toBe('/live/7?topic=quotes')
    expect(modern.requests.filter((request) => request.url.startsWith('/live'))).toEqual([])
    const line = gateway.logs.find((entry) => entry.msg === 'request' && entry.path === '/live/7')
    expect(line).toMatchObject({ slice: 'live', authority: 'legacy', status: 101, upgrade: 'websocket' })
    const text = await metrics()
    expect(text).toContain('ficus_websocket_upgrades_total{slice="live",side="legacy",outcome="upgraded"} 1')
    expect(text).not.toMatch(/ficus_comparisons_total\{slice="live"/)
  })

  it('follows a flip: the next upgrade goes to the side that now holds authority', async () => {
    const flipped = await fetch(`${gateway.adminUrl}/admin/slices/live/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authority: 'modern', reason: 'test' }),
    })
    expect(flipped.status).toBe(200)
    try {
      // Modern is a plain HTTP server: it answers the upgrade with 200 JSON, which the client gets as it is.
      const answer = await rawExchange(port, [head('GET', '/live/8', UPGRADE)])
      expect(answer.status).toBe(200)
      expect(modern.requests.at(-1)).toMatchObject({ url: '/live/8' })
      expect(await metrics()).toContain('ficus_websocket_upgrades_total{slice="live",side="modern",outcome="declined"} 1')
    } finally {
      await fetch(`${gateway.adminUrl}/admin/slices/live/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authority: 'legacy', reason: 'back' }),
      })
    }
  })

  it('strips gateway-owned headers from the upgrade, like from any request', async () => {
    const answer = await rawExchange(port, [
      head('GET', '/live/9', { ...UPGRADE, 'x-ficus-traffic': 'shadow', 'x-ficus-slice': 'forged', 'x-ficus-shadow': 'dry-run', 'x-kept': 'yes' }),
    ])
    expect(answer.status).toBe(101)
    const seen = echo.upgrades.at(-1)!
    expect(seen.url).toBe('/live/9')
    expect(Object.keys(seen.headers).filter((name) => name.startsWith('x-ficus-'))).toEqual([])
    expect(seen.headers['x-kept']).toBe('yes')
    expect(seen.headers.upgrade).toBe('websocket')
  })

  it('relays an upstream that declines the upgrade', async () => {
    const answer = await rawExchange(port, [head('GET', '/live/decline', UPGRADE)])
    expect(answer.status).toBe(403)
    expect(answer.body).toBe('declined')
  })

  it('a slice with websocket: false answers 501 in the documented shape and forwards nothing', async () => {
    const before = echo.upgrades.length + echo.plain.length
    const answer = await rawExchange(port, [head('GET', '/quiet/1', { ...UPGRADE, 'x-request-id': 'ws-quiet' })])
    expect(answer.status).toBe(501)
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FICUS_ERR_UPGRADE_REFUSED', requestId: 'ws-quiet' })
    expect(echo.upgrades.length + echo.plain.length).toBe(before)
    expect(await metrics()).toContain('ficus_websocket_upgrades_total{slice="quiet",side="legacy",outcome="refused"} 1')
  })

  it('checks the path of an upgrade like any other: dot segments are refused', async () => {
    const before = echo.upgrades.length
    const answer = await rawExchange(port, [head('GET', '/live/%2e%2e/admin', UPGRADE)])
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FICUS_ERR_PATH_REJECTED' })
    expect(echo.upgrades.length).toBe(before)
  })

  it('answers other upgrade protocols (h2c) without upgrading, and no Upgrade reaches the upstream', async () => {
    const answer = await rawExchange(port, [
      head('GET', '/live/10', { Upgrade: 'h2c', Connection: 'Upgrade, HTTP2-Settings', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' }),
    ])
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toEqual({ upgradeSeen: null })
    const seen = echo.plain.at(-1)!
    expect(seen.url).toBe('/live/10')
    expect(seen.headers.upgrade).toBeUndefined()
    expect(seen.headers['http2-settings']).toBeUndefined()
  })

  it('refuses an upgrade on anything but a GET without a body (400), forwarding nothing', async () => {
    const before = echo.upgrades.length + echo.plain.length
    const post = await rawExchange(port, [head('POST', '/live/12', { ...UPGRADE, 'content-length': '20' }) + 'GET /smug HTTP/1.1\r\n'])
    expect(post.status).toBe(400)
    expect(JSON.parse(post.body)).toMatchObject({ code: 'FICUS_ERR_BAD_REQUEST' })
    const withBody = await rawExchange(port, [head('GET', '/live/13', { ...UPGRADE, 'content-length': '5' }) + 'hello'])
    expect(withBody.status).toBe(400)
    expect(echo.upgrades.length + echo.plain.length).toBe(before)
  })

  it('an upgrade the upstream accepts while the gateway is closing is not joined, and the close does not wait for it', async () => {
    const own = await startTestGateway(config(echo.url, modern.url))
    const ownPort = Number(new URL(own.url).port)
    const socketClosed = new Promise<number>((resolve) => {
      const started = Date.now()
      const socket = connect(ownPort, '127.0.0.1', () => socket.write(head('GET', '/live/slow', UPGRADE)))
      socket.on('error', () => undefined)
      socket.resume()
      socket.once('close', () => resolve(Date.now() - started))
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const started = Date.now()
    await own.stop()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(await socketClosed).toBeLessThan(5_000)
  })

  it('closes open WebSocket connections when the gateway shuts down', async () => {
    const own = await startTestGateway(config(echo.url, modern.url))
    const socket = await open(`ws://127.0.0.1:${new URL(own.url).port}/live/11`)
    socket.send('ping')
    expect(await nextMessage(socket)).toBe('echo:ping')
    const gone = closed(socket)
    const started = Date.now()
    await own.stop()
    await gone
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
