import { gzipSync } from 'node:zlib'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import type { SliceInput, UpstreamInput } from '../../src/config/schema.ts'
import { comparisonOf, readComparisons, readShadowSkips } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send, type ClientResponse } from '../helpers/http-client.ts'
import { closedPort, startUpstream, type Handler, type TestUpstream } from '../helpers/upstream-server.ts'

// The authoritative (legacy) side: a fixed answer whose bytes and headers the client must get exactly.
const LEGACY_BODY = JSON.stringify({ pol_no: 'P-1', stat_cd: 'ACTV', prem_amt: '12.50' })
let legacy: TestUpstream
let modern: TestUpstream | undefined
let gateway: TestGateway | undefined

beforeAll(async () => {
  legacy = await startUpstream('legacy', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'x-legacy-trace': 'abc', 'cache-control': 'no-store' })
    response.end(LEGACY_BODY)
  })
})
afterAll(async () => {
  await legacy.close()
})
afterEach(async () => {
  await gateway?.stop()
  await modern?.close()
  gateway = undefined
  modern = undefined
})

const SLICE: Partial<SliceInput> = {
  shadow: { timeoutMs: 800 },
  translate: {
    version: 't1',
    legacy: {
      rename: { '/pol_no': '/policyNumber', '/stat_cd': '/status', '/prem_amt': '/premium' },
      values: { '/status': { ACTV: 'ACTIVE' } },
      coerce: { '/premium': 'number' },
    },
  },
}

async function withModern(handler: Handler | string, slice: Partial<SliceInput> = {}, modernUpstream: Partial<UpstreamInput> = {}): Promise<TestGateway> {
  let url: string
  if (typeof handler === 'string') url = handler
  else {
    modern = await startUpstream('modern', handler)
    url = modern.url
  }
  const config = sampleConfig(legacy.url, url)
  config.upstreams.modern = { url, ...modernUpstream }
  config.slices['policy-status'] = { ...config.slices['policy-status']!, ...SLICE, ...slice }
  gateway = await startTestGateway(config)
  return gateway
}

async function timed(url: string, requestId: string): Promise<{ response: ClientResponse; ms: number }> {
  const started = performance.now()
  const response = await send(url, { headers: { 'x-request-id': requestId } })
  return { response, ms: performance.now() - started }
}

function expectAuthoritative(response: ClientResponse): void {
  expect(response.status).toBe(200)
  expect(response.body).toBe(LEGACY_BODY)
  expect(response.headers['content-type']).toBe('application/json')
  expect(response.headers['x-legacy-trace']).toBe('abc')
  expect(response.headers['cache-control']).toBe('no-store')
  expect(response.headers['x-ficus-authority']).toBe('legacy')
}

const GOOD_MODERN: Handler = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ policyNumber: 'P-1', status: 'ACTIVE', premium: 12.5 }))
}

describe('the client never pays for the shadow', () => {
  it('matches once translated, and the modern side sees a marked shadow request', async () => {
    const gw = await withModern(GOOD_MODERN)
    const { response } = await timed(`${gw.url}/policy/P-1/status`, 'ok-1')
    expectAuthoritative(response)
    const record = await comparisonOf(gw.dataDir, 'ok-1')
    expect(record).toMatchObject({
      slice: 'policy-status',
      outcome: 'agree',
      category: 'match',
      diff: [],
      translationVersion: 't1',
      primary: { side: 'legacy', status: 200 },
      shadow: { side: 'modern', status: 200 },
    })
    expect(modern!.requests[0]).toMatchObject({ url: '/policies/P-1' })
    expect(modern!.requests[0]!.headers['x-ficus-traffic']).toBe('shadow')
    expect(modern!.requests[0]!.headers['x-request-id']).toBe('ok-1')
  })

  it('a shadow that hangs past its deadline: shadow-error timeout, client answered long before', async () => {
    const gw = await withModern(() => new Promise<void>(() => undefined))
    const { response, ms } = await timed(`${gw.url}/policy/P-1/status`, 'hang-1')
    expectAuthoritative(response)
    expect(ms).toBeLessThan(600)
    expect(await comparisonOf(gw.dataDir, 'hang-1')).toMatchObject({
      outcome: 'not-compared',
      category: 'shadow-error',
      cause: 'timeout',
      shadow: { status: null, error: 'timeout' },
    })
  })

  it('a shadow that is slow to answer does not slow the client', async () => {
    const gw = await withModern(async (request, response, body) => {
      await new Promise((resolve) => setTimeout(resolve, 500))
      await GOOD_MODERN(request, response, body)
    })
    const { response, ms } = await timed(`${gw.url}/policy/P-1/status`, 'slow-1')
    expectAuthoritative(response)
    expect(ms).toBeLessThan(400)
    expect(await comparisonOf(gw.dataDir, 'slow-1')).toMatchObject({ category: 'match' })
  })

  it('a shadow that refuses connections: shadow-error refused', async () => {
    const gw = await withModern(`http://127.0.0.1:${await closedPort()}`)
    expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, 'refused-1')).response)
    expect(await comparisonOf(gw.dataDir, 'refused-1')).toMatchObject({ category: 'shadow-error', cause: 'refused' })
  })

  it('a shadow that resets in the middle of its body: shadow-error reset', async () => {
    const gw = await withModern((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      response.write('{"policyNumber":')
      setTimeout(() => response.socket?.destroy(), 20)
    })
    expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, 'reset-1')).response)
    expect(await comparisonOf(gw.dataDir, 'reset-1')).toMatchObject({ category: 'shadow-error', cause: 'reset' })
  })

  it('a burst of shadow 5xx: shadow-error 5xx, then the slice’s shadow breaker opens and skips (breaker-open), visible in the admin API', async () => {
    const gw = await withModern(
      (_request, response) => {
        response.writeHead(503, { 'content-type': 'text/plain' })
        response.end('down')
      },
      {},
      { breaker: { shadow: { volumeThreshold: 3, errorThresholdPercentage: 50 } } },
    )
    for (let i = 0; i < 3; i++) {
      expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, `burst-${i}`)).response)
      expect(await comparisonOf(gw.dataDir, `burst-${i}`)).toMatchObject({ category: 'shadow-error', cause: '5xx', shadow: { status: 503 } })
    }
    expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, 'burst-open')).response)
    // No call was made: a skip, not another failure of the modern side — decided before the run
    // opened (the breaker asked, not tried), so counted rather than recorded.
    expect(modern!.requests).toHaveLength(3)
    const slices = JSON.parse((await send(`${gw.adminUrl}/admin/slices`)).body) as { slices: { breakers: Record<string, unknown> }[] }
    expect(slices.slices[0]!.breakers).toEqual({
      legacy: { upstream: 'legacy', primary: 'closed', shadow: 'closed' },
      modern: { upstream: 'modern', primary: 'closed', shadow: 'open' },
    })
    const metrics = (await send(`${gw.adminUrl}/metrics`)).body
    expect(metrics).toMatch(/^ficus_breaker_state\{upstream="modern",traffic="shadow",slice="policy-status",state="open"\} 1$/m)
    expect(metrics).toMatch(/^ficus_breaker_state\{upstream="modern",traffic="shadow",slice="policy-status",state="closed"\} 0$/m)
    expect(metrics).toMatch(/^ficus_breaker_state\{upstream="modern",traffic="shadow",slice="policy-status",state="half-open"\} 0$/m)
    expect(metrics).toMatch(/^ficus_comparisons_total\{slice="policy-status",outcome="not-compared",category="shadow-error"\} 3$/m)
    expect(metrics).not.toMatch(/category="shadow-skipped"/)
    expect(metrics).toMatch(/^ficus_shadow_skipped_total\{slice="policy-status",reason="breaker-open"\} 1$/m)
    // The skip is published with the slice's skips at the end of its window (here: the shutdown).
    await gw.stop({ keepData: true })
    expect((await readComparisons(gw.dataDir)).records.map((record) => record.requestId)).toEqual(['burst-0', 'burst-1', 'burst-2'])
    expect((await readShadowSkips(gw.dataDir)).map((event) => event.counts)).toEqual([{ 'breaker-open': 1 }])
  })

  it('a shadow answering invalid JSON: shadow-error invalid-json', async () => {
    const gw = await withModern((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"policyNumber": "P-1", ')
    })
    expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, 'invalid-1')).response)
    expect(await comparisonOf(gw.dataDir, 'invalid-1')).toMatchObject({ category: 'shadow-error', cause: 'invalid-json' })
  })

  it('a 50 MB shadow body: the client is unaffected, and what is over the capture cap is not compared (never a conflict)', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x')
    const gw = await withModern(
      async (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * chunk.length) })
        for (let i = 0; i < 50; i++) {
          if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve))
        }
        response.end()
      },
      { shadow: { timeoutMs: 10_000, maxResponseBodyBytes: 1024 * 1024 } },
    )
    const { response, ms } = await timed(`${gw.url}/policy/P-1/status`, 'big-1')
    expectAuthoritative(response)
    expect(ms).toBeLessThan(1_000)
    const record = await comparisonOf(gw.dataDir, 'big-1')
    expect(record).toMatchObject({
      category: 'not-compared',
      family: 'not-compared',
      cause: 'over-capture-cap',
      shadow: { status: 200, bodyBytes: 50 * 1024 * 1024 },
      diff: [],
    })
    // Published salted: the whole body's hash, though only the capture was kept.
    expect(record.shadow.bodyHash).toMatch(/^hmac-sha256:[0-9a-f]{32}$/)
  })

  it('a gzip-encoded shadow answer is decoded before the comparison', async () => {
    const gw = await withModern((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      response.end(gzipSync(JSON.stringify({ policyNumber: 'P-1', status: 'ACTIVE', premium: 12.5 })))
    })
    expectAuthoritative((await timed(`${gw.url}/policy/P-1/status`, 'gzip-1')).response)
    expect(await comparisonOf(gw.dataDir, 'gzip-1')).toMatchObject({ category: 'match' })
  })

  it('a 5xx from the authoritative side is passed to the client and recorded as primary-error', async () => {
    const failing = await startUpstream('failing-legacy', (_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' })
      response.end('legacy broke')
    })
    try {
      modern = await startUpstream('modern', GOOD_MODERN)
      const config = sampleConfig(failing.url, modern.url)
      config.slices['policy-status'] = { ...config.slices['policy-status']!, ...SLICE }
      gateway = await startTestGateway(config)
      const response = await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'primary-1' } })
      expect(response.status).toBe(500)
      expect(response.body).toBe('legacy broke')
      expect(await comparisonOf(gateway.dataDir, 'primary-1')).toMatchObject({
        category: 'primary-error',
        cause: '5xx',
        primary: { status: 500 },
        shadow: { status: 200 },
      })
    } finally {
      await failing.close()
    }
  })
})
