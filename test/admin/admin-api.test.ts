import { describe, expect, it } from 'vitest'
import { gatewayWithUpstreams, sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send, type ClientResponse } from '../helpers/http-client.ts'

const TOKEN = 'test-admin-token-0123456789abcdef'
const fixture = gatewayWithUpstreams({
  config: (legacyUrl, modernUrl) => {
    const config = sampleConfig(legacyUrl, modernUrl)
    config.slices['claim-lodgement'] = { description: 'May a claim be lodged? <b>bold</b>', authority: 'modern', routes: [{ method: 'POST', path: '/claims' }] }
    return config
  },
  gateway: { env: { FICUS_ADMIN_TOKEN: TOKEN, ADMIN_HOST: '127.0.0.1' } },
})

function admin(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<ClientResponse> {
  const headers: Record<string, string> = { 'x-ficus-actor': 'ana@ops' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return send(`${fixture.gateway.adminUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
}

function json(response: ClientResponse): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  return JSON.parse(response.body) as Record<string, unknown>
}

describe('admin API', () => {
  it('lists slices with authority, version, rollout and routes', async () => {
    const body = json(await admin('GET', '/admin/slices'))
    expect(body.store).toEqual({ kind: 'file', connected: true, snapshot: 'store' })
    const slices = body.slices as Record<string, unknown>[]
    expect(slices.map((slice) => slice.id)).toEqual(['policy-status', 'claim-lodgement'])
    expect(slices[0]).toMatchObject({
      authority: 'legacy',
      modernPercent: 0,
      version: 0,
      initialAuthority: 'legacy',
      stickyKey: null,
      routes: [
        {
          method: 'GET',
          path: '/policy/:id/status',
          legacy: { upstream: 'legacy', path: '/policy/:id/status' },
          modern: { upstream: 'modern', path: '/policies/:id' },
        },
      ],
    })
  })

  it('flips a slice, records the actor from x-ficus-actor, and the gateway obeys at once', async () => {
    const response = await admin('PUT', '/admin/slices/policy-status/authority', { authority: '100%', reason: 'parallel run agreed' })
    expect(response.status).toBe(200)
    expect(json(response)).toMatchObject({
      id: 'policy-status',
      authority: '100%',
      modernPercent: 100,
      version: 1,
      actor: 'ana@ops',
      reason: 'parallel run agreed',
      instance: 'test-gw',
    })
    expect((await send(`${fixture.gateway.url}/policy/P-1/status`)).headers['x-upstream']).toBe('modern')
    const history = json(await admin('GET', '/admin/history?slice=policy-status'))
    expect(history.entries).toMatchObject([{ slice: 'policy-status', previous: 'legacy', authority: '100%', version: 1, actor: 'ana@ops', kind: 'flip' }])
  })

  it('refuses a stale expectedVersion with 409', async () => {
    const response = await admin('PUT', '/admin/slices/claim-lodgement/authority', { authority: 'legacy', reason: 'r', expectedVersion: 5 })
    expect(response.status).toBe(409)
    expect(json(response)).toMatchObject({ code: 'FICUS_ERR_AUTHORITY_CONFLICT' })
  })

  it('answers 404 for an unknown slice', async () => {
    for (const [method, path, body] of [
      ['PUT', '/admin/slices/nope/authority', { authority: 'modern', reason: 'r' }],
      ['GET', '/admin/slices/nope', undefined],
      ['GET', '/admin/history?slice=nope', undefined],
      ['POST', '/admin/kill-switch', { reason: 'r', slices: ['nope'] }],
    ] as const) {
      const response = await admin(method, path, body)
      expect(response.status, path).toBe(404)
      // A query string value is never echoed (it would reach the log): the message names the parameter instead.
      expect(json(response)).toMatchObject({
        code: 'FICUS_ERR_UNKNOWN_SLICE',
        message: path.includes('?') ? 'unknown slice: the slice query parameter names no slice of this config' : 'unknown slice "nope"',
      })
    }
  })

  it('answers 400 naming the field for a bad value, a missing reason, unknown fields and bad bodies', async () => {
    const cases: [unknown, string, string][] = [
      [{ authority: 'sideways', reason: 'r' }, 'FICUS_ERR_AUTHORITY_INVALID', 'authority: must be "legacy", "modern" or a percentage'],
      [{ authority: '100.5%', reason: 'r' }, 'FICUS_ERR_AUTHORITY_INVALID', 'authority: must be'],
      [{ reason: 'r' }, 'FICUS_ERR_AUTHORITY_INVALID', 'authority: is required'],
      [{ authority: 'modern' }, 'FICUS_ERR_AUTHORITY_INVALID', 'reason: is required'],
      [{ authority: 'modern', reason: '   ' }, 'FICUS_ERR_AUTHORITY_INVALID', 'reason: is required'],
      [{ authority: 'modern', reason: 'r', expectedVersion: 'one' }, 'FICUS_ERR_AUTHORITY_INVALID', 'expectedVersion: must be a whole number ≥ 0 (got "one")'],
      [{ authority: 5, reason: 'r' }, 'FICUS_ERR_AUTHORITY_INVALID', 'in steps of 0.01 (got 5)'],
      [{ authority: 'modern', reason: 5 }, 'FICUS_ERR_AUTHORITY_INVALID', 'reason: is required, a non-empty text of at most 500 characters'],
      [{ authority: 'modern', reason: 'r', actor: 5 }, 'FICUS_ERR_AUTHORITY_INVALID', 'actor: must be a string'],
      [{ authority: 'modern', reason: 'r', force: 'yes' }, 'FICUS_ERR_BAD_REQUEST', 'force: must be true or false'],
      [{ authority: 'modern', reason: 'r', priority: 1 }, 'FICUS_ERR_BAD_REQUEST', 'priority: unknown field'],
      [[1, 2], 'FICUS_ERR_BAD_REQUEST', 'body: must be a JSON object'],
      ['{"authority": ', 'FICUS_ERR_BAD_REQUEST', ''],
    ]
    for (const [body, code, message] of cases) {
      const response = await admin('PUT', '/admin/slices/claim-lodgement/authority', body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      const answer = json(response)
      expect(answer.code).toBe(code)
      expect(String(answer.message)).toContain(message)
    }
    expect(json(await admin('GET', '/admin/slices/claim-lodgement')).version).toBe(0)
    const limit = await admin('GET', '/admin/history?limit=0')
    expect(limit.status).toBe(400)
    expect(json(limit).message).toContain('limit: must be a whole number from 1 to 1000')
  })

  it("reads the audit trails' query strings as before the route schemas: other parameters ignored, one known slice or 404 first", async () => {
    expect((await admin('GET', '/admin/history?_=1700000000000&limit=2')).status).toBe(200)
    for (const query of ['slice=policy-status&slice=policy-status', 'slice=nope&limit=0', 'slice[]=x&slice=nope']) {
      const response = await admin('GET', `/admin/history?${query}`)
      expect(response.status, query).toBe(404)
      expect(json(response).code).toBe('FICUS_ERR_UNKNOWN_SLICE')
      expect(response.body).not.toContain('nope')
    }
    expect((await admin('GET', '/admin/noise-decisions?slice=policy-status&slice=claim-lodgement')).status).toBe(404)
    const limit = await admin('GET', '/admin/noise-decisions?limit=abc&cache=1')
    expect(limit.status).toBe(400)
    expect(json(limit).message).toBe('limit: must be a whole number from 1 to 1000')
  })

  it('answers 401 without a hint when the token is missing or wrong', async () => {
    for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const response = await admin('PUT', '/admin/slices/claim-lodgement/authority', { authority: 'legacy', reason: 'r' }, token)
      expect(response.status).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Bearer')
      const body = json(response)
      expect(body).toMatchObject({ code: 'FICUS_ERR_ADMIN_UNAUTHORIZED', message: 'missing or invalid bearer token' })
      expect(response.body).not.toContain(TOKEN.slice(0, 6))
    }
    expect(json(await admin('GET', '/admin/slices/claim-lodgement')).version).toBe(0)
    expect((await admin('GET', '/admin/slices', undefined, 'Bearer')).status).toBe(401)
  })

  it('kill switch returns every slice to legacy at once, audited, and needs a reason', async () => {
    expect((await admin('POST', '/admin/kill-switch', {})).status).toBe(400)
    const response = await admin('POST', '/admin/kill-switch', { reason: 'incident 7: modern billing down' })
    expect(response.status).toBe(200)
    const body = json(response)
    expect(body.changed).toEqual(
      expect.arrayContaining([
        { id: 'claim-lodgement', version: 1 },
        { id: 'policy-status', version: 2 },
      ]),
    )
    expect(body.unchanged).toEqual([])
    expect((await send(`${fixture.gateway.url}/policy/P-1/status`)).headers['x-upstream']).toBe('legacy')
    const history = json(await admin('GET', '/admin/history?limit=2')).entries as Record<string, unknown>[]
    expect(history.map((entry) => [entry.kind, entry.reason, entry.authority])).toEqual([
      ['kill-switch', 'incident 7: modern billing down', 'legacy'],
      ['kill-switch', 'incident 7: modern billing down', 'legacy'],
    ])
    expect(json(await admin('POST', '/admin/kill-switch', { reason: 'again' }))).toEqual({ changed: [], unchanged: ['policy-status', 'claim-lodgement'] })
  })

  it('serves health, readiness and metrics without the token, and a JSON 404 for unknown endpoints', async () => {
    expect(json(await admin('GET', '/healthz', undefined, null))).toEqual({ status: 'ok' })
    const ready = await admin('GET', '/readyz', undefined, null)
    expect(ready.status).toBe(200)
    expect(json(ready)).toMatchObject({ ready: true, store: { kind: 'file', connected: true } })
    const missing = await admin('GET', '/admin/nothing-here')
    expect(missing.status).toBe(404)
    expect(json(missing)).toMatchObject({ code: 'FICUS_ERR_ADMIN_NOT_FOUND' })
  })

  it('exports Prometheus metrics: requests, upstream latency, authority, store state, flips', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status`)
    await send(`${fixture.gateway.url}/unclaimed`)
    const metrics = await admin('GET', '/metrics', undefined, null)
    expect(metrics.status).toBe(200)
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/)
    const text = metrics.body
    expect(text).toMatch(/^ficus_requests_total\{slice="policy-status",side="(legacy|modern)",status_class="2xx"\} \d+/m)
    expect(text).toMatch(/^ficus_requests_total\{slice="\(none\)",side="legacy",status_class="2xx"\} 1$/m)
    expect(text).toMatch(/^ficus_upstream_duration_seconds_bucket\{le="0.5",slice="policy-status",side="\w+"\} \d+/m)
    expect(text).toMatch(/^ficus_slice_modern_ratio\{slice="claim-lodgement"\} [01]$/m)
    expect(text).toMatch(/^ficus_slice_authority_version\{slice="policy-status"\} \d+$/m)
    expect(text).toMatch(/^ficus_authority_store_up\{store="file"\} 1$/m)
    expect(text).toMatch(/^ficus_authority_changes_total\{slice="policy-status",kind="flip"\} \d+$/m)
  })
})

describe('admin API without a token', () => {
  it('binds to loopback only, whatever ADMIN_HOST says, and the log says so', async () => {
    const open = await startTestGateway(sampleConfig(fixture.legacy.url, fixture.modern.url), { env: { ADMIN_HOST: '0.0.0.0' } })
    try {
      expect(open.admin.server.address()).toMatchObject({ address: '127.0.0.1' })
      expect(open.logs.some((line) => line.level === 40 && String(line.msg).includes('FICUS_ADMIN_TOKEN is not set'))).toBe(true)
      const response = await send(`${open.adminUrl}/admin/slices`)
      expect(response.status).toBe(200)
    } finally {
      await open.stop()
    }
  })
})
