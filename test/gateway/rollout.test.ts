import { afterEach, describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import type { SliceInput } from '../../src/config/schema.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

const upstreams = upstreamPair()
let gateway: TestGateway | undefined
afterEach(async () => {
  await gateway?.stop()
  gateway = undefined
})

async function withSlice(slice: Partial<SliceInput>): Promise<TestGateway> {
  const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
  config.slices['policy-status'] = { ...config.slices['policy-status']!, ...slice }
  return startTestGateway(config)
}

async function sideFor(path: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await send(`${gateway!.url}${path}`, { headers })
  expect(response.headers['x-ficus-authority']).toBe(response.headers['x-upstream'])
  return String(response.headers['x-ficus-authority'])
}

describe('percentage rollouts through the gateway', () => {
  it('sends each customer (by header) to one side, and about the configured share to modern', async () => {
    gateway = await withSlice({ authority: '30%', stickyKey: { header: 'x-customer-id' } })
    const sides: string[] = []
    for (let customer = 0; customer < 400; customer++) sides.push(await sideFor('/policy/P-1/status', { 'x-customer-id': `C-${customer}` }))
    const share = sides.filter((side) => side === 'modern').length / sides.length
    expect(share).toBeGreaterThan(0.2)
    expect(share).toBeLessThan(0.4)
    for (const customer of [3, 17, 250]) {
      const again = await Promise.all(Array.from({ length: 5 }, () => sideFor('/policy/P-1/status', { 'x-customer-id': `C-${customer}` })))
      expect(new Set(again)).toEqual(new Set([sides[customer]]))
    }
  })

  it('keeps customers on modern as a live rollout grows', async () => {
    gateway = await withSlice({ authority: '20%', stickyKey: { header: 'x-customer-id' } })
    const customers = Array.from({ length: 200 }, (_, i) => `C-${i}`)
    const before = await Promise.all(customers.map((c) => sideFor('/policy/P-1/status', { 'x-customer-id': c })))
    await flip(gateway.store, 'policy-status', { authority: '60%', actor: 'test', reason: 'grow' })
    const after = await Promise.all(customers.map((c) => sideFor('/policy/P-1/status', { 'x-customer-id': c })))
    customers.forEach((_, i) => {
      if (before[i] === 'modern') expect(after[i]).toBe('modern')
    })
    expect(after.filter((side) => side === 'modern').length).toBeGreaterThan(before.filter((side) => side === 'modern').length)
  })

  it('buckets by a path parameter or a query parameter', async () => {
    gateway = await withSlice({ authority: '50%', stickyKey: { param: 'id' } })
    const byPolicy = await Promise.all(Array.from({ length: 60 }, (_, i) => sideFor(`/policy/P-${i}/status`)))
    expect(new Set(byPolicy)).toEqual(new Set(['legacy', 'modern']))
    expect(await sideFor('/policy/P-7/status')).toBe(byPolicy[7])
    await gateway.stop()

    gateway = await withSlice({ authority: '50%', stickyKey: { query: 'customer' } })
    const byQuery = await Promise.all(Array.from({ length: 60 }, (_, i) => sideFor(`/policy/P-1/status?customer=${i}`)))
    expect(new Set(byQuery)).toEqual(new Set(['legacy', 'modern']))
    expect(await sideFor('/policy/P-2/status?customer=9&x=1')).toBe(byQuery[9])
  })

  it('falls back to the client address when the key is missing', async () => {
    gateway = await withSlice({ authority: '50%', stickyKey: { header: 'x-customer-id' } })
    const sides = await Promise.all(Array.from({ length: 30 }, () => sideFor('/policy/P-1/status')))
    expect(new Set(sides).size).toBe(1)
  })
})
