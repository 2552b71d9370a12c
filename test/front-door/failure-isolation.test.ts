import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { head } from '../helpers/raw-socket.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// One legacy upstream behind three slices and the fallthrough: one URL answers 500, one never
// answers in time, the rest are healthy. The breakers open easily (5 calls, 50 %).
let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway

beforeAll(async () => {
  legacy = await startUpstream('legacy', async (request, response) => {
    const url = request.url ?? ''
    if (url.includes('broken')) {
      response.writeHead(500, { 'content-type': 'application/json' })
      response.end('{"error":"boom"}')
      return
    }
    if (url.includes('hang')) {
      await sleep(1_000)
      if (!response.destroyed) response.end('{}')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end('{"ok":true}')
  })
  modern = await startUpstream('modern')
  const config = sampleConfig(legacy.url, modern.url, { gateway: { limits: { maxBodyBytes: 1_024 } } })
  config.upstreams['legacy'] = {
    url: legacy.url,
    timeoutMs: 150,
    breaker: { primary: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 } },
  }
  config.slices['reports'] = { description: 'Reports (one of them broken)', authority: 'legacy', routes: [{ method: 'GET', path: '/reports/:id' }] }
  config.slices['exports'] = {
    description: 'Exports (one of them hangs)',
    authority: 'legacy',
    routes: [
      { method: 'GET', path: '/exports/:id' },
      { method: 'POST', path: '/exports/:id' },
    ],
  }
  gateway = await startTestGateway(config)
})
afterAll(async () => {
  await gateway.stop()
  await legacy.close()
  await modern.close()
})

async function status(path: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${gateway.url}${path}`)
  const text = await response.text()
  return {
    status: response.status,
    ...(response.headers.get('content-type')?.includes('json') && text.includes('FICUS_ERR') ? { code: (JSON.parse(text) as { code: string }).code } : {}),
  }
}

describe('failures stay where they start', () => {
  it('40 requests to an unclaimed URL that answers 500 are relayed as 500, and every slice on that upstream keeps answering', async () => {
    for (let i = 0; i < 40; i++) expect(await status('/unclaimed/broken')).toEqual({ status: 500 })
    expect(await status('/policy/P-1/status')).toEqual({ status: 200 })
    expect(await status('/reports/1')).toEqual({ status: 200 })
    expect(await status('/unclaimed/fine')).toEqual({ status: 200 })
  })

  it('a slice route answering 500 does not open a breaker by default: its 5xx are answers', async () => {
    for (let i = 0; i < 40; i++) expect(await status('/reports/broken')).toEqual({ status: 500 })
    expect(await status('/reports/2')).toEqual({ status: 200 })
    expect(await status('/policy/P-2/status')).toEqual({ status: 200 })
  })

  it('timeouts open the breaker of that slice only: its requests get 503, other slices on the same upstream do not', async () => {
    // Timeouts until the breaker opens (five calls at least, at most ten).
    const seen: number[] = []
    for (let i = 0; i < 10 && !seen.includes(503); i++) seen.push((await status('/exports/hang')).status)
    expect(seen.filter((code) => code === 504).length).toBeGreaterThanOrEqual(5)
    expect(seen.at(-1)).toBe(503)
    expect(await status('/exports/3')).toEqual({ status: 503, code: 'FICUS_ERR_UPSTREAM_CIRCUIT_OPEN' })
    expect(await status('/reports/3')).toEqual({ status: 200 })
    expect(await status('/policy/P-3/status')).toEqual({ status: 200 })
    expect(await status('/unclaimed/fine')).toEqual({ status: 200 })

    const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text()
    expect(metrics).toContain('ficus_breaker_state{upstream="legacy",traffic="primary",slice="exports",state="open"} 1')
    expect(metrics).toContain('ficus_breaker_state{upstream="legacy",traffic="primary",slice="reports",state="closed"} 1')
    const view = (await (await fetch(`${gateway.adminUrl}/admin/slices`)).json()) as { slices: { id: string; breakers: { legacy: { primary: string } } }[] }
    expect(Object.fromEntries(view.slices.map((slice) => [slice.id, slice.breakers.legacy.primary]))).toMatchObject({
      exports: 'open',
      reports: 'closed',
      'policy-status': 'closed',
    })
  })

  it('a streamed body past the limit to a slice whose breaker is open is refused, and the gateway lives on', async () => {
    const port = Number(new URL(gateway.url).port)
    const chunk = (size: number): string => `${size.toString(16)}\r\n${'z'.repeat(size)}\r\n`
    for (let i = 0; i < 3; i++) {
      // Every byte is sent, whatever the gateway answers in between (the answer comes after the first chunk).
      const received = await new Promise<string>((resolve) => {
        let text = ''
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(head('POST', '/exports/big', { 'transfer-encoding': 'chunked' }) + chunk(800))
          setTimeout(() => socket.write(`${chunk(800)}0\r\n\r\n`, () => setTimeout(() => socket.destroy(), 100)), 100)
        })
        socket.on('data', (data: Buffer) => (text += data.toString('latin1')))
        socket.on('error', () => undefined)
        socket.once('close', () => resolve(text))
      })
      expect(received).toMatch(/^HTTP\/1\.1 (413|503) /)
    }
    await sleep(100)
    expect(await status('/reports/5')).toEqual({ status: 200 })
  })
})

describe('an upstream configured to count its 5xx', () => {
  it('opens the breaker of the failing slice, still only that one', async () => {
    const own = await startTestGateway(
      (() => {
        const config = sampleConfig(legacy.url, modern.url)
        config.upstreams['legacy'] = { url: legacy.url, breaker: { primary: { volumeThreshold: 5, countServerErrors: true, resetTimeoutMs: 60_000 } } }
        config.slices['reports'] = { description: 'Reports', authority: 'legacy', routes: [{ method: 'GET', path: '/reports/:id' }] }
        return config
      })(),
    )
    try {
      const ask = async (path: string) => (await fetch(`${own.url}${path}`)).status
      for (let i = 0; i < 6; i++) await ask('/reports/broken')
      expect(await ask('/reports/4')).toBe(503)
      expect(await ask('/policy/P-4/status')).toBe(200)
      // The fallthrough has no breaker at all: its 5xx never close anything.
      for (let i = 0; i < 10; i++) expect(await ask('/unclaimed/broken')).toBe(500)
      expect(await ask('/unclaimed/fine')).toBe(200)
    } finally {
      await own.stop()
    }
  })
})
