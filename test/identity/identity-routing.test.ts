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

// A legacy claims system keyed by claim numbers, a modern one keyed by new ids, and a client that
// only ever sends claim numbers: the identity map carries every call across.
const PAIRS: Record<string, string> = { 'CLM-1001': 'c7f3a2', 'CLM-1002': 'c91b04', 'CLM 78': 'c 78ü' }
const NEW_TO_OLD = Object.fromEntries(Object.entries(PAIRS).map(([legacy, modern]) => [modern, legacy]))

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-ids-'))
  const csv = ['legacy,modern', ...Object.entries(PAIRS).map(([legacy, modern]) => `"${legacy}",${modern}`)].join('\n')
  await writeFile(join(dir, 'claim-ids.csv'), `${csv}\n`)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const json = (response: Parameters<Handler>[1], status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

/** Legacy answers any claim number it is asked (by path, query or header). */
const legacy: Handler = (request, response) => {
  const url = new URL(request.url ?? '/', 'http://x')
  const claimNo = decodeURIComponent(url.pathname.split('/')[2] ?? '') || url.searchParams.get('claimNo') || String(request.headers['x-claim-number'])
  json(response, 200, { claimNumber: claimNo, status: 'OPEN' })
}

/** Modern knows claims only by new ids, and answers with the new id. */
const modern: Handler = (request, response) => {
  const url = new URL(request.url ?? '/', 'http://x')
  const id = decodeURIComponent(url.pathname.split('/')[3] ?? '') || url.searchParams.get('claimNo') || String(request.headers['x-claim-number'])
  if (NEW_TO_OLD[id] === undefined) return json(response, 404, { error: 'no such claim' })
  json(response, 200, { claimNumber: id, status: 'OPEN' })
}

function config(file: string, missingIdentity: 'error' | 'client-side') {
  return (legacyUrl: string, modernUrl: string): GatewayConfigInput => ({
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: legacyUrl }, modern: { url: modernUrl } },
    identityMaps: { 'claim-ids': { file } },
    slices: {
      'claim-status': {
        description: 'Where does the claim stand?',
        authority: 'legacy',
        missingIdentity,
        routes: [
          { method: 'GET', path: '/claims/:claimNo', rewrite: { modern: '/v2/claims/:claimNo' }, ids: [{ param: 'claimNo', map: 'claim-ids' }] },
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

describe('a modern context keyed by new ids, clients sending legacy ids', () => {
  const ctx = gatewayWithUpstreams({ config: (l, m) => config(join(dir, 'claim-ids.csv'), 'error')(l, m), legacy, modern })

  it('shadows with the mapped id in the path and compares bodies after mapping their ids', async () => {
    const response = await send(`${ctx.gateway.url}/claims/CLM-1001?x=1`)
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ claimNumber: 'CLM-1001', status: 'OPEN' })
    const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(ctx.modern.requests.map((request) => request.url)).toEqual(['/v2/claims/c7f3a2?x=1'])
    expect(ctx.legacy.requests.map((request) => request.url)).toEqual(['/claims/CLM-1001?x=1'])
    expect(record.family).toBe('match')
  })

  it('maps query parameters and headers, leaving the rest of the query as sent', async () => {
    const query = await send(`${ctx.gateway.url}/claim-search?a=%20b&claimNo=CLM-1002&c`)
    await comparisonOf(ctx.gateway.dataDir, String(query.headers['x-request-id']))
    expect(ctx.modern.requests.map((request) => request.url)).toEqual(['/v2/claim-search?a=%20b&claimNo=c91b04&c'])
    const header = await send(`${ctx.gateway.url}/claim`, { headers: { 'x-claim-number': 'CLM-1002' } })
    const record = await comparisonOf(ctx.gateway.dataDir, String(header.headers['x-request-id']))
    expect(ctx.modern.requests[1]?.headers['x-claim-number']).toBe('c91b04')
    expect(record.family).toBe('match')
  })

  it('percent-encodes a mapped id in a path segment', async () => {
    const response = await send(`${ctx.gateway.url}/claims/CLM%2078`)
    const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(ctx.modern.requests.map((request) => request.url)).toEqual(['/v2/claims/c%2078%C3%BC'])
    expect(record.family).toBe('match')
  })

  it('records an id the map lacks as not-compared, missing-identity: never a conflict, modern never asked', async () => {
    const response = await send(`${ctx.gateway.url}/claims/CLM-4040`)
    expect(response.status).toBe(200)
    const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(record).toMatchObject({ family: 'not-compared', category: 'not-compared', cause: 'missing-identity' })
    expect(ctx.modern.requests).toEqual([])
    // A key-linkage problem the register collects, one signature per route, apart from the differences.
    const listed = await send(`${ctx.gateway.adminUrl}/admin/discrepancies?slice=claim-status&family=missing-identity`)
    const { entries } = JSON.parse(listed.body) as { entries: { family: string; route: string; count: number }[] }
    expect(entries).toEqual([expect.objectContaining({ family: 'missing-identity', route: 'GET /claims/:claimNo', count: 1 })])
  })

  it('after the flip, modern answers clients that still send legacy ids, and legacy is the shadow', async () => {
    await flip(ctx.gateway.store, 'claim-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    try {
      const response = await send(`${ctx.gateway.url}/claims/CLM-1001`)
      expect(response.status).toBe(200)
      expect(response.headers['x-ficus-authority']).toBe('modern')
      expect(JSON.parse(response.body)).toEqual({ claimNumber: 'c7f3a2', status: 'OPEN' })
      const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
      expect(ctx.modern.requests.map((request) => request.url)).toEqual(['/v2/claims/c7f3a2'])
      expect(ctx.legacy.requests.map((request) => request.url)).toEqual(['/claims/CLM-1001'])
      expect(record.family).toBe('match')

      // The slice's rule for a missing mapping on the authoritative call: a clear 404, nothing forwarded.
      ctx.modern.requests.length = 0
      ctx.legacy.requests.length = 0
      const missing = await send(`${ctx.gateway.url}/claims/CLM-4040`)
      expect(missing.status).toBe(404)
      expect(JSON.parse(missing.body)).toMatchObject({ code: 'FICUS_ERR_IDENTITY_MISSING' })
      expect(missing.body).not.toContain('CLM-4040')
      expect(ctx.modern.requests).toEqual([])
      expect(ctx.legacy.requests).toEqual([])

      // A tunnel cannot carry mapped ids: the upgrade is refused, not sent with a legacy id.
      const upgrade = await send(`${ctx.gateway.url}/claims/CLM-1001`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      })
      expect(upgrade.status).toBe(501)
      expect(upgrade.body).toContain('needs mapped ids')
      expect(ctx.modern.requests).toEqual([])
    } finally {
      await flip(ctx.gateway.store, 'claim-status', { authority: 'legacy', actor: 'test', reason: 'back' })
    }
  })

  it('counts lookups and misses per map', async () => {
    const metrics = await send(`${ctx.gateway.adminUrl}/metrics`)
    expect(metrics.body).toMatch(/ficus_identity_lookups_total\{map="claim-ids",result="found",cached="false"\} [1-9]/)
    expect(metrics.body).toMatch(/ficus_identity_lookups_total\{map="claim-ids",result="missing",cached="false"\} [1-9]/)
  })
})

describe("missingIdentity: 'client-side'", () => {
  const ctx = gatewayWithUpstreams({ config: (l, m) => config(join(dir, 'claim-ids.csv'), 'client-side')(l, m), legacy, modern })

  it('lets legacy answer a modern-authority request whose id has no mapping, and records the shadow as missing-identity', async () => {
    await flip(ctx.gateway.store, 'claim-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    const response = await send(`${ctx.gateway.url}/claims/CLM-4040`)
    expect(response.status).toBe(200)
    expect(response.headers['x-ficus-authority']).toBe('legacy')
    expect(JSON.parse(response.body)).toEqual({ claimNumber: 'CLM-4040', status: 'OPEN' })
    const record = await comparisonOf(ctx.gateway.dataDir, String(response.headers['x-request-id']))
    expect(record).toMatchObject({ family: 'not-compared', cause: 'missing-identity' })
    expect(ctx.modern.requests).toEqual([])
  })
})
