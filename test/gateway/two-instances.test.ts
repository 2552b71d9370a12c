import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

const upstreams = upstreamPair()
let prefix: string
let gateways: TestGateway[] = []
beforeEach(() => {
  prefix = uniquePrefix()
})
afterEach(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()))
  gateways = []
  await dropPrefix(prefix)
})

async function instance(name: string): Promise<TestGateway> {
  const gateway = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url), {
    instance: name,
    env: { REDIS_URL, FICUS_REDIS_PREFIX: prefix },
  })
  gateways.push(gateway)
  return gateway
}

describe('two gateway instances against one Redis', () => {
  it('a flip accepted by one instance is in force on the other well under a second', async () => {
    const a = await instance('gw-a')
    const b = await instance('gw-b')
    expect((await send(`${b.url}/policy/P-1/status`)).headers['x-upstream']).toBe('legacy')

    const applied = new Promise<number>((resolve) => {
      const off = b.store.onChange(() => {
        off()
        resolve(performance.now())
      })
    })
    const started = performance.now()
    const response = await send(`${a.adminUrl}/admin/slices/policy-status/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authority: 'modern', reason: 'parallel run agreed' }),
    })
    const accepted = performance.now()
    expect(response.status).toBe(200)
    const inForce = await applied
    // From the moment the admin API answered to the moment the other instance's snapshot changed
    // (negative when the other instance had it before the HTTP answer arrived).
    console.info(
      `flip propagation to the second instance: ${(inForce - accepted).toFixed(1)} ms after acceptance, ${(inForce - started).toFixed(1)} ms after the request was sent`,
    )
    expect(inForce - started).toBeLessThan(1_000)

    const routed = await send(`${b.url}/policy/P-1/status`)
    expect(routed.headers['x-upstream']).toBe('modern')
    expect(b.store.get('policy-status')).toMatchObject({ authority: 'modern', version: 1, instance: 'gw-a' })
  })

  it('both instances read the same audit trail, whichever accepted the change', async () => {
    const a = await instance('gw-a')
    const b = await instance('gw-b')
    const put = (gateway: TestGateway, authority: string, reason: string) =>
      send(`${gateway.adminUrl}/admin/slices/policy-status/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-ficus-actor': gateway.store === a.store ? 'ana' : 'bo' },
        body: JSON.stringify({ authority, reason }),
      })
    expect((await put(a, '10%', 'start')).status).toBe(200)
    expect((await put(b, '50%', 'halfway')).status).toBe(200)
    const history = JSON.parse((await send(`${a.adminUrl}/admin/history`)).body) as {
      entries: { version: number; actor: string; instance: string; reason: string }[]
    }
    expect(history.entries.map((entry) => [entry.version, entry.actor, entry.instance, entry.reason])).toEqual([
      [2, 'bo', 'gw-b', 'halfway'],
      [1, 'ana', 'gw-a', 'start'],
    ])
  })
})
