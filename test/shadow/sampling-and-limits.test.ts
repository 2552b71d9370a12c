import { afterEach, describe, expect, it } from 'vitest'
import { comparisonOf, readComparisons, readShadowSkips } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

let gateway: TestGateway | undefined
const started: TestUpstream[] = []

afterEach(async () => {
  await gateway?.stop()
  await Promise.all(started.splice(0).map((upstream) => upstream.close()))
  gateway = undefined
})

async function upstream(name: string, handler?: Parameters<typeof startUpstream>[1]): Promise<TestUpstream> {
  const server = await startUpstream(name, handler)
  started.push(server)
  return server
}

describe('sampling', () => {
  it('shadows the configured share, deterministically per request id', async () => {
    const legacy = await upstream('legacy')
    const modern = await upstream('modern')
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = { sample: 50 }
    gateway = await startTestGateway(config)
    const ids = Array.from({ length: 200 }, (_, i) => `sample-${i}`)
    for (const id of ids) await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': id } })
    const firstRound = new Set(modern.requests.map((r) => r.headers['x-request-id']))
    expect(firstRound.size).toBeGreaterThan(70)
    expect(firstRound.size).toBeLessThan(130)
    modern.requests.length = 0
    for (const id of ids.slice(0, 50)) await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': id } })
    const secondRound = new Set(modern.requests.map((r) => r.headers['x-request-id']))
    expect([...secondRound]).toEqual(ids.slice(0, 50).filter((id) => firstRound.has(id)))
    // The requests outside the sample are counted, not recorded: every request is accounted for.
    const gw = gateway
    await gw.stop({ keepData: true })
    const sampledOut = (await readShadowSkips(gw.dataDir)).reduce((sum, event) => sum + (event.counts['sampled-out'] ?? 0), 0)
    expect(sampledOut).toBe(250 - firstRound.size - secondRound.size)
    expect((await readComparisons(gw.dataDir)).records).toHaveLength(firstRound.size + secondRound.size)
  })

  it('shadows nothing at 0 %', async () => {
    const legacy = await upstream('legacy')
    const modern = await upstream('modern')
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = { sample: 0 }
    gateway = await startTestGateway(config)
    for (let i = 0; i < 20; i++) await send(`${gateway.url}/policy/P-1/status`)
    expect(modern.requests).toHaveLength(0)
  })
})

describe('bounded shadow work', () => {
  it('skips and counts shadows beyond the concurrency cap and queue, without touching the client', async () => {
    const legacy = await upstream('legacy')
    const releases: (() => void)[] = []
    const modern = await upstream(
      'modern',
      (_request, response) =>
        new Promise<void>((resolve) =>
          releases.push(() => {
            response.end('{}')
            resolve()
          }),
        ),
    )
    const config = sampleConfig(legacy.url, modern.url, { gateway: { shadow: { concurrency: 1, queue: 1 } } })
    config.slices['policy-status']!.shadow = { timeoutMs: 10_000 }
    gateway = await startTestGateway(config)
    const gw = gateway
    // One shadow runs, one waits, the rest are skipped.
    for (const id of ['q-1', 'q-2', 'q-3', 'q-4']) expect((await send(`${gw.url}/policy/P-1/status`, { headers: { 'x-request-id': id } })).status).toBe(200)
    const metrics = (await send(`${gw.adminUrl}/metrics`)).body
    expect(metrics).toMatch(/^ficus_shadow_skipped_total\{slice="policy-status",reason="queue-full"\} 2$/m)
    expect(metrics).toMatch(/^ficus_shadow_queue_depth\{state="active"\} 1$/m)
    expect(metrics).toMatch(/^ficus_shadow_queue_depth\{state="waiting"\} 1$/m)
    expect(modern.requests).toHaveLength(1)

    releases.shift()?.()
    for (let i = 0; i < 100 && modern.requests.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    releases.shift()?.()
    await comparisonOf(gw.dataDir, 'q-2')
    // The two skips cost a counter, not a record: published with the slice's skips when the window closes (here: the shutdown).
    await gw.stop({ keepData: true })
    expect((await readComparisons(gw.dataDir)).records.map((r) => r.requestId).sort()).toEqual(['q-1', 'q-2'])
    expect((await readShadowSkips(gw.dataDir)).map((event) => [event.slice, event.counts, event.total])).toEqual([['policy-status', { 'queue-full': 2 }, 2]])
  })
})
