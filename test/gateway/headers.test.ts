import { describe, expect, it } from 'vitest'
import { gatewayWithUpstreams, sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

// The upstream answers with hop-by-hop fields of its own, and a field its Connection header lists.
const fixture = gatewayWithUpstreams({
  legacy: (_request, response) => {
    response.writeHead(200, {
      'content-type': 'text/plain',
      connection: 'keep-alive, x-upstream-hop',
      'keep-alive': 'timeout=5',
      'x-upstream-hop': 'for the next hop only',
      'proxy-authenticate': 'Basic',
      'x-end-to-end': 'kept',
      'x-request-id': 'upstream-made-this-up',
    })
    response.end('ok')
  },
})

describe('header handling', () => {
  it('removes hop-by-hop request fields and every field the Connection header lists (RFC 9110 §7.6.1)', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status`, {
      headers: {
        connection: 'keep-alive, x-client-hop, X-Other-Hop',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic c2VjcmV0',
        'x-client-hop': 'drop me',
        'x-other-hop': 'drop me too',
        'x-end-to-end': 'keep me',
        authorization: 'Bearer end-to-end-token',
      },
    })
    const seen = fixture.legacy.requests[0]!.headers
    for (const name of ['keep-alive', 'te', 'upgrade', 'proxy-authorization', 'x-client-hop', 'x-other-hop', 'transfer-encoding']) {
      expect(seen[name], name).toBeUndefined()
    }
    expect(seen.connection).not.toMatch(/x-client-hop/i)
    expect(seen['x-end-to-end']).toBe('keep me')
    expect(seen.authorization).toBe('Bearer end-to-end-token')
    expect(seen.host).toBe(`127.0.0.1:${fixture.legacy.port}`)
  })

  it('removes hop-by-hop response fields and those the upstream Connection header lists', async () => {
    const response = await send(`${fixture.gateway.url}/policy/P-1/status`)
    expect(response.headers['x-upstream-hop']).toBeUndefined()
    expect(response.headers['proxy-authenticate']).toBeUndefined()
    expect(response.headers['keep-alive']).not.toBe('timeout=5')
    expect(response.headers['x-end-to-end']).toBe('kept')
    expect(response.body).toBe('ok')
  })

  it('adds x-forwarded-for/-proto/-host, appending to an existing chain', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status`, {
      headers: { host: 'api.insurer.example', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    })
    const seen = fixture.legacy.requests[0]!.headers
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1')
    // Without trustProxy the gateway reports what it saw itself, not what the client claimed.
    expect(seen['x-forwarded-proto']).toBe('http')
    expect(seen['x-forwarded-host']).toBe('api.insurer.example')
  })

  it('keeps a valid incoming x-request-id, sends it upstream and returns it', async () => {
    const response = await send(`${fixture.gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'client-req-42' } })
    expect(fixture.legacy.requests[0]!.headers['x-request-id']).toBe('client-req-42')
    expect(response.headers['x-request-id']).toBe('client-req-42')
  })

  it('replaces a missing or malformed x-request-id with a fresh one', async () => {
    const missing = await send(`${fixture.gateway.url}/policy/P-1/status`)
    const malformed = await send(`${fixture.gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'has spaces; and "quotes"' } })
    const long = await send(`${fixture.gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'x'.repeat(129) } })
    for (const response of [missing, malformed, long]) expect(response.headers['x-request-id']).toMatch(UUID)
    expect(fixture.legacy.requests.map((r) => r.headers['x-request-id'])).toEqual([missing, malformed, long].map((r) => r.headers['x-request-id']))
  })
})

describe('header handling behind a trusted proxy', () => {
  it('passes the proxy’s x-forwarded-proto/-host through when trustProxy is on', async () => {
    const trusting = await startTestGateway(sampleConfig(fixture.legacy.url, 'http://127.0.0.1:9', { gateway: { trustProxy: true } }))
    try {
      await send(`${trusting.url}/policy/P-1/status`, {
        headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.insurer.example' },
      })
      const seen = fixture.legacy.requests[0]!.headers
      expect(seen['x-forwarded-proto']).toBe('https')
      expect(seen['x-forwarded-host']).toBe('api.insurer.example')
      expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1')
    } finally {
      await trusting.stop()
    }
  })
})
