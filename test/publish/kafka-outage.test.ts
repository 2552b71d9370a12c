import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { startKafkaBroker, type KafkaBroker } from '../kafka/kafka-broker.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { closedPort, upstreamPair } from '../helpers/upstream-server.ts'

// A broker of this file's own: these tests stop and restart it.
let broker: KafkaBroker
const upstreams = upstreamPair()
let gateways: TestGateway[] = []
let reader: TopicReader | undefined

beforeAll(async () => {
  broker = await startKafkaBroker({ distribution: inject('kafkaDistribution') })
}, 120_000)
afterAll(async () => {
  await broker.destroy()
})
afterEach(async () => {
  await reader?.close()
  reader = undefined
  await Promise.all(gateways.map((gateway) => gateway.stop()))
  gateways = []
})

function config() {
  // Shutdown waits this long for an unreachable broker before keeping the rest in the outbox.
  const input = sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { shutdownTimeoutMs: 1_000 } })
  input.slices['policy-status']!.shadow = {}
  return input
}

async function gateway(env: NodeJS.ProcessEnv, options: { dataDir?: string } = {}): Promise<TestGateway> {
  const started = await startTestGateway(config(), { env, ...options })
  gateways.push(started)
  return started
}

/** Sends `count` requests one after another; returns the slowest latency and any non-200 status. */
async function traffic(gw: TestGateway, prefix: string, count: number, pauseMs: number): Promise<{ ids: string[]; slowestMs: number; failures: number[] }> {
  const ids: string[] = []
  const failures: number[] = []
  let slowestMs = 0
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`
    ids.push(id)
    const started = performance.now()
    const response = await send(`${gw.url}/policy/P-${i}/status`, { headers: { 'x-request-id': id } })
    slowestMs = Math.max(slowestMs, performance.now() - started)
    if (response.status !== 200) failures.push(response.status)
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return { ids, slowestMs, failures }
}

function counts(messages: readonly { value: Record<string, unknown> }[]): Map<string, number> {
  const byRequest = new Map<string, number>()
  for (const message of messages) byRequest.set(String(message.value.requestId), (byRequest.get(String(message.value.requestId)) ?? 0) + 1)
  return byRequest
}

describe('no comparison is lost when the broker goes away', () => {
  it('keeps serving through a broker outage and delivers every comparison made during it afterwards', async () => {
    const topics = uniqueTopics(broker.brokers)
    const gw = await gateway(topics.env)
    const before = await traffic(gw, 'before', 20, 10)
    await broker.stop()
    const during = await traffic(gw, 'during', 40, 25)
    const metrics = (await send(`${gw.adminUrl}/metrics`)).body
    expect(metrics).toMatch(/^ficus_event_sink_records_spilled_total\{sink="kafka"\} [1-9]\d*$/m)
    const status = JSON.parse((await send(`${gw.adminUrl}/readyz`)).body) as { sink: { state: string; outboxBytes: number } }
    expect(status.sink.state).toBe('spilling')
    expect(status.sink.outboxBytes).toBeGreaterThan(0)
    await broker.start()
    const after = await traffic(gw, 'after', 20, 10)

    // The clients never noticed.
    for (const phase of [before, during, after]) {
      expect(phase.failures).toEqual([])
      expect(phase.slowestMs).toBeLessThan(500)
    }
    const all = [...before.ids, ...during.ids, ...after.ids]
    reader = await readTopics(broker.brokers, [topics.comparisons])
    await reader.until((messages) => all.every((id) => counts(messages).has(id)), `all ${all.length} comparisons`, 60_000)
    const byRequest = counts(reader.messages)
    expect(all.filter((id) => !byRequest.has(id))).toEqual([])
    console.info(`broker outage: ${during.ids.length} comparisons made while it was down, ${all.length} in all, ${reader.messages.length} messages received`)
    // At least once: a record resent after an unacknowledged send may come twice, never with another id.
    expect(new Set(reader.messages.map((m) => m.value.eventId)).size).toBe(all.length)
    const final = JSON.parse((await send(`${gw.adminUrl}/readyz`)).body) as { sink: { state: string; outboxBytes: number } }
    expect(final.sink).toEqual({ kind: 'kafka', state: 'connected', outboxBytes: 0 })
  })

  it('a restarted gateway delivers what the previous process left in its outbox', async () => {
    const topics = uniqueTopics(broker.brokers)
    await broker.stop()
    const first = await gateway(topics.env)
    const made = await traffic(first, 'left', 15, 5)
    expect(made.failures).toEqual([])
    await first.stop({ keepData: true })
    gateways = gateways.filter((candidate) => candidate !== first)
    const outbox = await readdir(join(first.dataDir, 'outbox'))
    expect(outbox.some((name) => name.startsWith('segment-'))).toBe(true)

    await broker.start()
    const second = await gateway(topics.env, { dataDir: first.dataDir })
    expect(second.logs.some((line) => String(line.msg).startsWith('outbox holds undelivered events'))).toBe(true)
    reader = await readTopics(broker.brokers, [topics.comparisons])
    await reader.until((messages) => made.ids.every((id) => counts(messages).has(id)), 'the comparisons of the first process', 60_000)
    expect(new Set(reader.messages.map((m) => m.value.requestId))).toEqual(new Set(made.ids))
  })

  it('counts and logs what a full outbox drops, and keeps serving', async () => {
    const topics = uniqueTopics(`127.0.0.1:${await closedPort()}`)
    const gw = await gateway({ ...topics.env, FICUS_OUTBOX_MAX_BYTES: '4000' })
    const made = await traffic(gw, 'full', 30, 5)
    expect(made.failures).toEqual([])
    let metrics = ''
    const dropped = /^ficus_event_sink_records_dropped_total\{sink="kafka"\} ([1-9]\d*)$/m
    for (let i = 0; i < 100 && !dropped.test(metrics); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      metrics = (await send(`${gw.adminUrl}/metrics`)).body
    }
    expect(metrics).toMatch(dropped)
    expect(metrics).toMatch(/^ficus_outbox_bytes [1-9]\d*$/m)
    expect(gw.logs.some((line) => line.msg === 'events dropped: queue and outbox full' && Number(line.dropped) > 0)).toBe(true)
  })
})
