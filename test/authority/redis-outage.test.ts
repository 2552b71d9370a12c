import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startPrivateRedis, startTcpProxy, uniquePrefix, type PrivateRedis, type TcpProxy } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

let legacy: TestUpstream
let modern: TestUpstream
let redis: PrivateRedis
let gateways: TestGateway[] = []
let proxy: TcpProxy | undefined

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  redis = await startPrivateRedis()
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await redis.destroy()
})
afterEach(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()))
  gateways = []
  await proxy?.close()
  proxy = undefined
})

async function instance(name: string, url: string, prefix: string): Promise<TestGateway> {
  const gateway = await startTestGateway(sampleConfig(legacy.url, modern.url), { instance: name, env: { REDIS_URL: url, FICUS_REDIS_PREFIX: prefix } })
  gateways.push(gateway)
  return gateway
}

function flipOverHttp(gateway: TestGateway, authority: string) {
  return send(`${gateway.adminUrl}/admin/slices/policy-status/authority`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ authority, reason: 'outage test' }),
  })
}

describe('Redis trouble never stops traffic', () => {
  it('keeps routing on the last snapshot while Redis is stopped, refuses flips, and follows changes again after a restart', async () => {
    const prefix = uniquePrefix()
    const a = await instance('gw-a', redis.url, prefix)
    const b = await instance('gw-b', redis.url, prefix)
    expect((await flipOverHttp(a, 'modern')).status).toBe(200)
    await until(() => b.store.get('policy-status')?.authority === 'modern', 'the flip to reach gw-b')

    await redis.stop()
    await until(() => !a.store.status().connected && !b.store.status().connected, 'both instances to notice the outage')
    for (const gateway of [a, b]) {
      const response = await send(`${gateway.url}/policy/P-1/status`)
      expect(response.status).toBe(200)
      expect(response.headers['x-upstream']).toBe('modern')
    }
    const refused = await flipOverHttp(a, 'legacy')
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE' })
    expect(a.store.get('policy-status')).toMatchObject({ authority: 'modern', version: 1 })
    const readiness = await send(`${a.adminUrl}/readyz`)
    expect(readiness.status).toBe(200)
    expect(JSON.parse(readiness.body)).toMatchObject({ ready: true, store: { kind: 'redis', connected: false } })
    expect(a.logs.some((line) => line.level === 50 && String(line.msg).startsWith('authority store connection lost'))).toBe(true)

    await redis.start()
    await until(() => a.store.status().connected && b.store.status().connected, 'both instances to reconnect')
    expect(a.logs.some((line) => String(line.msg).startsWith('authority store reconnected'))).toBe(true)
    const accepted = await flipOverHttp(a, 'legacy')
    expect(accepted.status).toBe(200)
    expect(JSON.parse(accepted.body)).toMatchObject({ authority: 'legacy', version: 2 })
    await until(() => b.store.get('policy-status')?.version === 2, 'gw-b to receive the change after the restart')
    expect((await send(`${b.url}/policy/P-1/status`)).headers['x-upstream']).toBe('legacy')
  })

  it('applies a change made while an instance was cut off, as soon as it reconnects', async () => {
    const prefix = uniquePrefix()
    proxy = await startTcpProxy(redis.port)
    const cutOff = await instance('gw-cut-off', `redis://127.0.0.1:${proxy.port}`, prefix)
    const direct = await instance('gw-direct', redis.url, prefix)

    proxy.cut()
    await until(() => !cutOff.store.status().connected, 'gw-cut-off to notice the partition')
    await flip(direct.store, 'policy-status', { authority: '100%', actor: 'ops', reason: 'while gw-cut-off was away' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(cutOff.store.get('policy-status')).toMatchObject({ authority: 'legacy', version: 0 })
    expect((await send(`${cutOff.url}/policy/P-1/status`)).headers['x-upstream']).toBe('legacy')

    proxy.restore()
    await until(() => cutOff.store.get('policy-status')?.version === 1, 'gw-cut-off to resynchronise')
    expect((await send(`${cutOff.url}/policy/P-1/status`)).headers['x-upstream']).toBe('modern')
  })

  it('starts with Redis unreachable on the config values, says so, and catches up once Redis is there', async () => {
    const prefix = uniquePrefix()
    const seeded = await instance('gw-seed', redis.url, prefix)
    await flip(seeded.store, 'policy-status', { authority: 'modern', actor: 'ops', reason: 'before the late starter' })

    proxy = await startTcpProxy(redis.port)
    proxy.cut()
    const late = await instance('gw-late', `redis://127.0.0.1:${proxy.port}`, prefix)
    expect(late.store.status()).toEqual({ kind: 'redis', connected: false, snapshot: 'config' })
    expect(late.logs.some((line) => line.level === 50 && String(line.msg).startsWith('authority store unreachable at start'))).toBe(true)
    expect((await send(`${late.url}/policy/P-1/status`)).headers['x-upstream']).toBe('legacy')

    proxy.restore()
    await until(() => late.store.get('policy-status')?.authority === 'modern', 'gw-late to catch up')
    expect((await send(`${late.url}/policy/P-1/status`)).headers['x-upstream']).toBe('modern')
  })
})
