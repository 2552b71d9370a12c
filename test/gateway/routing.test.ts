import { flip } from '../../src/authority/authority-store.ts'
import { afterEach, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, upstreamPair } from '../helpers/upstream-server.ts'

const upstreams = upstreamPair()
let gateway: TestGateway | undefined
afterEach(async () => {
  await gateway?.stop()
  gateway = undefined
  upstreams.legacy.requests.length = 0
  upstreams.modern.requests.length = 0
})

describe('routing per slice', () => {
  it('sends a slice to its authoritative side, and to the other side with the rewritten path once flipped', async () => {
    gateway = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url))

    const before = await send(`${gateway.url}/policy/P-1001/status?as_of=2026-11-01`)
    expect(before.status).toBe(200)
    expect(before.headers['x-ficus-slice']).toBe('policy-status')
    expect(before.headers['x-ficus-authority']).toBe('legacy')
    expect(before.headers['x-upstream']).toBe('legacy')
    expect(upstreams.legacy.requests.map((r) => r.url)).toEqual(['/policy/P-1001/status?as_of=2026-11-01'])

    await flip(gateway.store, 'policy-status', { authority: 'modern', actor: 'test', reason: 'parallel run agreed' })

    const after = await send(`${gateway.url}/policy/P-1001/status?as_of=2026-11-01`)
    expect(after.headers['x-ficus-authority']).toBe('modern')
    expect(after.headers['x-upstream']).toBe('modern')
    expect(upstreams.modern.requests.map((r) => r.url)).toEqual(['/policies/P-1001?as_of=2026-11-01'])
    expect(upstreams.legacy.requests).toHaveLength(1)
  })

  it('starts a slice on the authority the config declares', async () => {
    const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
    config.slices['policy-status']!.authority = 'modern'
    gateway = await startTestGateway(config)
    const response = await send(`${gateway.url}/policy/P-7/status`)
    expect(response.headers['x-upstream']).toBe('modern')
    expect(upstreams.modern.requests[0]?.url).toBe('/policies/P-7')
  })

  it('sends unmatched requests, unchanged, to the fallthrough side', async () => {
    gateway = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url))
    const response = await send(`${gateway.url}/agents/A-77?x=1`, { method: 'DELETE' })
    expect(response.status).toBe(200)
    expect(response.headers['x-ficus-slice']).toBeUndefined()
    expect(response.headers['x-ficus-authority']).toBe('legacy')
    expect(upstreams.legacy.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /agents/A-77?x=1'])
  })

  it('routes unmatched requests to modern when the config says so, with any method Node accepts', async () => {
    gateway = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { fallthrough: 'modern' } }))
    const response = await send(`${gateway.url}/calendars/1`, { method: 'PROPFIND' })
    expect(response.status).toBe(200)
    expect(upstreams.modern.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['PROPFIND /calendars/1'])
  })

  it('keeps the upstream URL path prefix in front of every forwarded path', async () => {
    gateway = await startTestGateway(sampleConfig(`${upstreams.legacy.url}/pas/`, `${upstreams.modern.url}/policy-api`))
    await send(`${gateway.url}/policy/P-1/status`)
    await flip(gateway.store, 'policy-status', { authority: 'modern', actor: 'test', reason: 'r' })
    await send(`${gateway.url}/policy/P-1/status`)
    expect(upstreams.legacy.requests[0]?.url).toBe('/pas/policy/P-1/status')
    expect(upstreams.modern.requests[0]?.url).toBe('/policy-api/policies/P-1')
  })

  it("applies the side's header rewrite and upstream choice", async () => {
    const billing = await startUpstream('billing')
    try {
      const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
      config.upstreams.billing = { url: billing.url }
      config.slices['policy-status'] = {
        ...config.slices['policy-status']!,
        authority: 'modern',
        legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
        modern: { upstream: 'billing', headers: { add: { 'X-Context': 'billing' }, remove: ['X-Legacy-Session'] } },
      }
      gateway = await startTestGateway(config)
      await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-legacy-session': 'abc', 'x-keep': 'yes' } })
      expect(upstreams.modern.requests).toHaveLength(0)
      const seen = billing.requests[0]!
      expect(seen.url).toBe('/policies/P-1')
      expect(seen.headers['x-context']).toBe('billing')
      expect(seen.headers['x-legacy-session']).toBeUndefined()
      expect(seen.headers['x-keep']).toBe('yes')
      expect(seen.headers['x-pas-channel']).toBeUndefined()
    } finally {
      await billing.close()
    }
  })

  it('can leave out the x-ficus response headers', async () => {
    gateway = await startTestGateway(
      sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { responseHeaders: { slice: false, authority: false } } }),
    )
    const response = await send(`${gateway.url}/policy/P-1/status`)
    expect(response.status).toBe(200)
    expect(response.headers['x-ficus-slice']).toBeUndefined()
    expect(response.headers['x-ficus-authority']).toBeUndefined()
  })

  it('passes the request body and method through, and the upstream status, headers and body back', async () => {
    const echo = await startUpstream('echo', (request, response, body) => {
      response.writeHead(201, [
        ['content-type', 'application/json'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['location', '/claims/C-1'],
      ])
      response.end(JSON.stringify({ got: JSON.parse(body.toString('utf8')) as unknown, method: request.method }))
    })
    try {
      gateway = await startTestGateway(sampleConfig(echo.url, upstreams.modern.url))
      const response = await send(`${gateway.url}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"pol_no":"P-1"}' })
      expect(response.status).toBe(201)
      expect(response.headers['location']).toBe('/claims/C-1')
      expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2'])
      expect(JSON.parse(response.body)).toEqual({ got: { pol_no: 'P-1' }, method: 'POST' })
      expect(echo.requests[0]?.headers['content-type']).toBe('application/json')
    } finally {
      await echo.close()
    }
  })

  it('answers HEAD through a GET route with headers and no body', async () => {
    gateway = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url))
    const response = await send(`${gateway.url}/policy/P-1/status`, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers['x-ficus-slice']).toBe('policy-status')
    expect(response.body).toBe('')
    expect(upstreams.legacy.requests[0]?.method).toBe('HEAD')
  })
})
