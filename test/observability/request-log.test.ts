import { describe, expect, it } from 'vitest'
import { gatewayWithUpstreams, sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

const fixture = gatewayWithUpstreams({
  legacy: (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=upstream-cookie-value' })
    response.end('{"secret_field":"policyholder-date-of-birth"}')
  },
})

describe('request log', () => {
  it('writes one JSON line per request with the routing decision, status and latency', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status?token=query-secret`, { headers: { 'x-request-id': 'log-1' } })
    const lines = fixture.gateway.logs.filter((line) => line.reqId === 'log-1')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      reqId: 'log-1',
      slice: 'policy-status',
      authority: 'legacy',
      route: 'GET /policy/:id/status',
      upstream: 'legacy',
      method: 'GET',
      path: '/policy/P-1/status',
      status: 200,
      upstreamStatus: 200,
    })
    expect(typeof lines[0]!.latencyMs).toBe('number')
    expect(typeof lines[0]!.upstreamMs).toBe('number')
  })

  it('never logs bodies, query strings, cookies or authorization headers', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status?token=query-secret`, {
      method: 'POST',
      headers: { authorization: 'Bearer very-secret-token', cookie: 'session=client-cookie-value', 'content-type': 'application/json' },
      body: '{"card":"4111111111111111"}',
    })
    const text = JSON.stringify(fixture.gateway.logs)
    for (const secret of [
      'very-secret-token',
      'client-cookie-value',
      'upstream-cookie-value',
      '4111111111111111',
      'policyholder-date-of-birth',
      'query-secret',
    ]) {
      expect(text).not.toContain(secret)
    }
  })

  it('logs an upstream failure at warn with its code, and the request line with the status sent', async () => {
    const failing = await startTestGateway(sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9'))
    try {
      await send(`${failing.url}/policy/P-1/status`, { headers: { 'x-request-id': 'log-502' } })
      const lines = failing.logs.filter((line) => line.reqId === 'log-502')
      expect(lines.map((line) => [line.level, line.msg, line.code ?? line.status])).toEqual([
        [40, 'request failed', 'FICUS_ERR_UPSTREAM_UNAVAILABLE'],
        [30, 'request', 502],
      ])
    } finally {
      await failing.stop()
    }
  })
})
