import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, PERMISSIVE_READINESS } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import type { Handler } from '../helpers/upstream-server.ts'

// Pairs a creating system could well write: a dot segment, a slash, non-ASCII, a numeric id.
const PAIRS: Record<string, string> = {
  'CLM-1001': 'c7f3a2',
  'CLM-1002': 'c91b04',
  'CLM-DOT': '..',
  'CLM-SLASH': 'a/b',
  'CLM-UNI': 'clm_日本',
  '123': '900123',
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-ids-hostile-'))
  const csv = ['legacy,modern', ...Object.entries(PAIRS).map(([l, m]) => `${l},${m}`)].join('\n')
  await writeFile(join(dir, 'claim-ids.csv'), `${csv}\n`)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const json = (response: Parameters<Handler>[1], status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}
const legacy: Handler = (request, response) => {
  const url = new URL(request.url ?? '/', 'http://x')
  json(response, request.method === 'POST' ? 201 : 200, { claimNumber: 123, all: url.searchParams.getAll('claimNo'), status: 'OPEN' })
}
const modern: Handler = (request, response) => {
  const url = new URL(request.url ?? '/', 'http://x')
  json(response, 200, { claimNumber: 900123, all: url.searchParams.getAll('claimNo'), status: 'OPEN' })
}

function config(missingIdentity: 'error' | 'client-side') {
  return (legacyUrl: string, modernUrl: string): GatewayConfigInput => ({
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: legacyUrl }, modern: { url: modernUrl } },
    identityMaps: { 'claim-ids': { file: join(dir, 'claim-ids.csv') } },
    slices: {
      'claim-status': {
        description: 'Where does the claim stand?',
        authority: 'legacy',
        missingIdentity,
        routes: [
          { method: 'GET', path: '/claims/:claimNo', rewrite: { modern: '/v2/claims/:claimNo' }, ids: [{ param: 'claimNo', map: 'claim-ids' }] },
          { method: 'POST', path: '/claims/:claimNo/notes', rewrite: { modern: '/v2/claims/:claimNo/notes' }, ids: [{ param: 'claimNo', map: 'claim-ids' }] },
          { method: 'GET', path: '/claim-search', rewrite: { modern: '/v2/claim-search' }, ids: [{ query: 'claimNo', map: 'claim-ids' }] },
          { method: 'GET', path: '/claim', rewrite: { modern: '/v2/claim' }, ids: [{ header: 'X-Claim-Number', map: 'claim-ids' }] },
        ],
        shadow: {},
        translate: { version: 'v1', legacy: { ids: { '/claimNumber': 'claim-ids' } } },
      },
    },
    readiness: PERMISSIVE_READINESS,
  })
}

describe('identity maps against hostile map data and requests (missingIdentity: error)', () => {
  const ctx = gatewayWithUpstreams({ config: config('error'), legacy, modern })

  it('maps each value of a repeated query parameter on its own', async () => {
    const response = await send(`${ctx.gateway.url}/claim-search?claimNo=CLM-1001&claimNo=CLM-1002`)
    await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(ctx.modern.requests.map((r) => r.url)).toEqual(['/v2/claim-search?claimNo=c7f3a2&claimNo=c91b04'])
  })

  it('never sends a mapped id that is a dot segment or holds a slash as a path segment: missing-identity', async () => {
    for (const claim of ['CLM-DOT', 'CLM-SLASH']) {
      const response = await send(`${ctx.gateway.url}/claims/${claim}`)
      const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
      expect(record).toMatchObject({ family: 'not-compared', cause: 'missing-identity' })
    }
    expect(ctx.modern.requests).toEqual([])
  })

  it('answers a mapped id a header cannot carry as a missing identity, never counted against the breaker', async () => {
    await flip(ctx.gateway.store, 'claim-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    try {
      const response = await send(`${ctx.gateway.url}/claim`, { headers: { 'x-claim-number': 'CLM-UNI' } })
      // A data problem of one map entry must not count against modern's circuit breaker either.
      for (let i = 0; i < 30; i++) await send(`${ctx.gateway.url}/claim`, { headers: { 'x-claim-number': 'CLM-UNI' } })
      const healthy = await send(`${ctx.gateway.url}/claim`, { headers: { 'x-claim-number': 'CLM-1001' } })
      expect(response.status).toBe(404)
      expect(JSON.parse(response.body)).toMatchObject({ code: 'FICUS_ERR_IDENTITY_MISSING' })
      expect(healthy.status).toBe(200)
      expect(ctx.modern.requests.filter((r) => r.url === '/v2/claim')).toHaveLength(1)
    } finally {
      await flip(ctx.gateway.store, 'claim-status', { authority: 'legacy', actor: 'test', reason: 'back' })
    }
  })

  it('keeps the JSON type of a numeric id mapped inside a body (900123, not "900123")', async () => {
    const response = await send(`${ctx.gateway.url}/claims/CLM-1001`)
    const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(record.family).toBe('match')
  })
})

describe("missingIdentity: 'client-side' and writes", () => {
  const ctx = gatewayWithUpstreams({ config: config('client-side'), legacy, modern })

  it('never sends a write whose id has no mapping to the side that does not hold authority; a read falls back, counted', async () => {
    await flip(ctx.gateway.store, 'claim-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    const response = await send(`${ctx.gateway.url}/claims/CLM-4040/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"note":"x"}',
    })
    // modern holds authority for writes: legacy must not take the write silently.
    expect(response.status).toBe(404)
    expect(JSON.parse(response.body)).toMatchObject({ code: 'FICUS_ERR_IDENTITY_MISSING' })
    expect(ctx.legacy.requests.filter((r) => r.method === 'POST')).toEqual([])
    const read = await send(`${ctx.gateway.url}/claims/CLM-4040`)
    expect(read.headers['x-ficus-authority']).toBe('legacy')
    const metrics = await send(`${ctx.gateway.adminUrl}/metrics`)
    expect(metrics.body).toMatch(/ficus_identity_fallbacks_total\{slice="claim-status"\} 1\b/)
  })
})
