import { afterEach, describe, expect, it } from 'vitest'
import type { GatewayConfigInput, SliceInput } from '../../src/config/schema.ts'
import { comparisonOf, readComparisons } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, upstreamPair, type TestUpstream } from '../helpers/upstream-server.ts'

const upstreams = upstreamPair()
let gateway: TestGateway | undefined
let extra: TestUpstream | undefined

afterEach(async () => {
  await gateway?.stop()
  await extra?.close()
  gateway = undefined
  extra = undefined
  upstreams.legacy.requests.length = 0
  upstreams.modern.requests.length = 0
})

async function withSlice(slice: Partial<SliceInput>, adjust: (config: GatewayConfigInput) => void = () => undefined): Promise<TestGateway> {
  const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
  config.slices['policy-status'] = {
    ...config.slices['policy-status']!,
    routes: [
      { method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' } },
      { method: 'POST', path: '/claims', rewrite: { modern: '/v2/claims' } },
    ],
    ...slice,
  }
  adjust(config)
  gateway = await startTestGateway(config)
  return gateway
}

function post(gw: TestGateway, requestId: string, body = '{"pol_no":"P-1","loss_dt":"2026-11-20"}') {
  return send(`${gw.url}/claims`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body })
}

describe('safe by default', () => {
  it('never shadows a write without a declared safety mode', async () => {
    const gw = await withSlice({ shadow: {} })
    expect((await post(gw, 'write-1')).status).toBe(200)
    await send(`${gw.url}/policy/P-1/status`, { headers: { 'x-request-id': 'read-1' } })
    await comparisonOf(gw.dataDir, 'read-1')
    expect(upstreams.modern.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /policies/P-1'])
    expect((await readComparisons(gw.dataDir)).records.map((r) => r.requestId)).toEqual(['read-1'])
  })

  it('shadows a write with the dry-run header, replaying the same body, marked as shadow traffic', async () => {
    const gw = await withSlice({ shadow: { writes: { dryRunHeader: { name: 'x-dry-run', value: 'yes' } } } })
    await post(gw, 'write-2')
    const record = await comparisonOf(gw.dataDir, 'write-2')
    expect(record).toMatchObject({ method: 'POST', route: 'POST /claims' })
    const shadowed = upstreams.modern.requests[0]!
    expect(shadowed).toMatchObject({ method: 'POST', url: '/v2/claims', body: '{"pol_no":"P-1","loss_dt":"2026-11-20"}' })
    expect(shadowed.headers['x-dry-run']).toBe('yes')
    expect(shadowed.headers['x-ficus-traffic']).toBe('shadow')
    expect(upstreams.legacy.requests[0]).toMatchObject({ method: 'POST', url: '/claims', body: '{"pol_no":"P-1","loss_dt":"2026-11-20"}' })
    expect(upstreams.legacy.requests[0]!.headers['x-dry-run']).toBeUndefined()
  })

  it('sends shadowed writes to the sandbox upstream, never to the real other side', async () => {
    extra = await startUpstream('sandbox')
    const sandbox = extra
    const gw = await withSlice({ shadow: { writes: { sandbox: 'sandbox' } } }, (config) => {
      config.upstreams.sandbox = { url: sandbox.url }
    })
    await post(gw, 'write-3')
    await comparisonOf(gw.dataDir, 'write-3')
    expect(upstreams.modern.requests).toHaveLength(0)
    expect(sandbox.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v2/claims'])
  })

  it('skips (and counts) the shadow of a body over the cap; the primary still gets it whole', async () => {
    const gw = await withSlice({ shadow: { maxRequestBodyBytes: 1024, writes: { dryRunHeader: {} } } })
    const big = JSON.stringify({ pol_no: 'P-1', notes: 'n'.repeat(10_000) })
    expect((await post(gw, 'big-write', big)).status).toBe(200)
    expect(await comparisonOf(gw.dataDir, 'big-write')).toMatchObject({
      outcome: 'not-compared',
      category: 'shadow-skipped',
      cause: 'request-body-over-cap',
      shadow: { status: null },
    })
    expect(upstreams.legacy.requests[0]!.bodyLength).toBe(Buffer.byteLength(big))
    expect(upstreams.modern.requests).toHaveLength(0)
    expect((await send(`${gw.adminUrl}/metrics`)).body).toMatch(/^ficus_shadow_skipped_total\{slice="policy-status",reason="request-body-over-cap"\} 1$/m)
  })
})
