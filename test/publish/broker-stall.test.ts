import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { KafkaPublisher, type KafkaPublisherOptions } from '../../src/publish/kafka-publisher.ts'
import { openFds, startBlackholeBroker, type BlackholeBroker } from '../helpers/blackhole-broker.ts'
import { drive, outboxComparisons, outboxRequestIds, scrape, signalAndWait, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { until } from '../helpers/wait.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'
import { startKafkaBroker, type KafkaBroker } from '../kafka/kafka-broker.ts'

// Issue 14, point 3: a broker that accepts connections and never answers, or one frozen mid-run,
// must not make the gateway pile up connections, and must not keep it from exiting on SIGTERM.

const liveBrokers = inject('kafkaBrokers')
const upstreams = upstreamPair()
// A broker of this file's own: these tests freeze it.
let broker: KafkaBroker
let dir: string
let hole: BlackholeBroker | undefined
let reader: TopicReader | undefined
const processes: GatewayProcess[] = []

beforeAll(async () => {
  broker = await startKafkaBroker({ distribution: inject('kafkaDistribution') })
}, 120_000)
afterAll(async () => {
  await broker.destroy()
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-stall-'))
})
afterEach(async () => {
  broker.thaw()
  for (const gateway of processes.splice(0))
    if (gateway.spawned.child.exitCode === null && gateway.spawned.child.signalCode === null) gateway.spawned.child.kill('SIGKILL')
  await reader?.close()
  reader = undefined
  await hole?.close()
  hole = undefined
  await rm(dir, { recursive: true, force: true })
})

/** Time compressed: attempts every few hundred milliseconds instead of every few seconds. */
function fastPublisher(brokers: string, topics: { comparisons: string; authority: string; triage: string }): KafkaPublisher {
  const options: KafkaPublisherOptions = {
    brokers: [brokers],
    clientId: 'ficus-stall-test',
    topics: { comparisons: topics.comparisons, 'authority-changes': topics.authority, 'triage-actions': topics.triage },
    partitions: 1,
    replicationFactor: 1,
    outboxDir: join(dir, 'outbox'),
    connectionTimeoutMs: 300,
    requestTimeoutMs: 400,
    sendTimeoutMs: 800,
    maxBackoffMs: 200,
    durability: { mode: 'buffered', flushMs: 300, flushRecords: 1_000 },
    logger: capturingLogger().logger,
  }
  return new KafkaPublisher(options)
}

interface Sample {
  readonly atMs: number
  readonly connections: number
  readonly sockets: number
  readonly fds: number
}

async function gatewayProcess(env: NodeJS.ProcessEnv, shutdownTimeoutMs: number): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess({ dir, legacyUrl: upstreams.legacy.url, modernUrl: upstreams.modern.url, shutdownTimeoutMs, env })
  processes.push(gateway)
  return gateway
}

/** Samples the gateway process's open sockets and descriptors every `everyMs`, `count` times, while `during` runs. */
async function sampleProcess(pid: number, count: number, everyMs: number, during: (i: number) => Promise<unknown>): Promise<Sample[]> {
  const started = performance.now()
  const samples: Sample[] = []
  for (let i = 0; i < count; i++) {
    await Promise.all([during(i), sleep(everyMs)])
    const { fds, sockets } = await openFds(pid)
    samples.push({ atMs: Math.round(performance.now() - started), connections: -1, sockets, fds })
  }
  return samples
}

const max = (values: readonly number[]): number => Math.max(...values)

describe('a broker that accepts connections and never answers', () => {
  it('keeps the publisher to a bounded number of connections while it retries, and close keeps the rest in the outbox within its timeout', async () => {
    hole = await startBlackholeBroker()
    const publisher = fastPublisher(hole.brokers, uniqueTopics(hole.brokers))
    await publisher.start()
    const sink = publisher.sink<{ eventId: string; requestId: string }>('comparisons', () => 'k')
    const baseline = await openFds()
    const samples: Sample[] = []
    const started = performance.now()
    let written = 0
    // 8 s, 16 samples, 5 records each.
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 5; j++) sink.write({ eventId: `e-${written}`, requestId: `r-${written++}` })
      await sleep(500)
      const fds = await openFds()
      samples.push({
        atMs: Math.round(performance.now() - started),
        connections: publisher.stats().connections,
        sockets: fds.sockets - baseline.sockets,
        fds: fds.fds - baseline.fds,
      })
    }
    console.info(
      `blackhole, in process: ${hole.accepted} connections accepted in 8 s; open (publisher / extra sockets / extra fds) over time: ${samples.map((s) => `${s.atMs}ms ${s.connections}/${s.sockets}/${s.fds}`).join(', ')}`,
    )
    // Many attempts, each on a connection of its own; never more than a few open at once.
    expect(hole.accepted).toBeGreaterThan(8)
    expect(max(samples.map((s) => s.connections))).toBeLessThanOrEqual(3)
    expect(max(samples.map((s) => s.sockets))).toBeLessThanOrEqual(4)
    expect(hole.open).toBeLessThanOrEqual(3)

    const closing = performance.now()
    await publisher.close(1_000)
    const closeMs = performance.now() - closing
    console.info(`blackhole, in process: close(1000) took ${Math.round(closeMs)} ms`)
    expect(closeMs).toBeLessThan(1_100)
    expect(publisher.stats().connections).toBe(0)
    await until(() => hole!.open === 0, 'the blackhole to see every connection closed', { timeoutMs: 3_000 })
    expect(await outboxRequestIds(join(dir, 'outbox'))).toEqual(Array.from({ length: written }, (_, n) => `r-${n}`))
  }, 30_000)

  it('a gateway process keeps its sockets flat, exits on SIGTERM within shutdownTimeoutMs with the rest in its outbox, and a restart delivers every comparison', async () => {
    hole = await startBlackholeBroker()
    const topics = uniqueTopics(liveBrokers)
    const shutdownTimeoutMs = 2_000
    const gateway = await gatewayProcess({ ...topics.env, KAFKA_BROKERS: hole.brokers }, shutdownTimeoutMs)
    const sent: string[] = []
    // 24 s, one sample a second, 3 requests a second. With the default deadlines an attempt takes
    // about 10 s (two request timeouts); each failed one used to leave its connection open.
    const samples = await sampleProcess(gateway.pid, 24, 1_000, async (i) => sent.push(...(await drive(gateway, `bh-${i}`, 3))))
    console.info(
      `blackhole, gateway process: ${hole.accepted} connections accepted in 24 s; open sockets / fds over time: ${samples.map((s) => `${s.atMs}ms ${s.sockets}/${s.fds}`).join(', ')}`,
    )
    expect(hole.accepted).toBeGreaterThan(1)
    const early = samples.slice(0, 3).map((s) => s.sockets)
    const late = samples.slice(-8).map((s) => s.sockets)
    expect(max(late)).toBeLessThanOrEqual(max(early) + 1)
    expect(hole.open).toBeLessThanOrEqual(3)

    const finished = await signalAndWait(gateway, 'SIGTERM')
    console.info(
      `blackhole, gateway process: exited ${finished.code} ${Math.round(finished.elapsedMs)} ms after SIGTERM (shutdownTimeoutMs ${shutdownTimeoutMs})`,
    )
    expect(finished.code).toBe(0)
    expect(finished.elapsedMs).toBeLessThan(shutdownTimeoutMs)
    expect(finished.stdout).toContain('"msg":"gateway stopped"')
    const left = await outboxComparisons(join(gateway.dataDir, 'outbox'))
    expect(new Set(left.map((comparison) => comparison.requestId))).toEqual(new Set(sent))

    // The broker is back (a live one): the next process delivers what the first left — every event id at least once.
    const again = await gatewayProcess(topics.env, shutdownTimeoutMs)
    reader = await readTopics(liveBrokers, [topics.comparisons])
    await reader.until((messages) => new Set(messages.map((m) => m.value.eventId)).size >= left.length, `all ${left.length} comparisons`, 60_000)
    expect(new Set(reader.messages.map((m) => String(m.value.eventId)))).toEqual(new Set(left.map((comparison) => comparison.eventId)))
    expect(new Set(reader.messages.map((m) => String(m.value.requestId)))).toEqual(new Set(sent))
    expect((await signalAndWait(again, 'SIGTERM')).code).toBe(0)
  }, 120_000)
})

describe('a broker frozen mid-run (SIGSTOP)', () => {
  it('keeps the publisher to a bounded number of connections while frozen, and publishing resumes when it thaws', async () => {
    const topics = uniqueTopics(broker.brokers)
    const publisher = fastPublisher(broker.brokers, topics)
    await publisher.start()
    const sink = publisher.sink<{ eventId: string; requestId: string }>('comparisons', () => 'k')
    let written = 0
    for (; written < 20; written++) sink.write({ eventId: `e-${written}`, requestId: `r-${written}` })
    await until(() => publisher.stats().published >= 20, 'the first 20 records to be acknowledged', { timeoutMs: 20_000 })
    broker.freeze()
    const samples: Sample[] = []
    const started = performance.now()
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 5; j++) sink.write({ eventId: `e-${written}`, requestId: `r-${written++}` })
      await sleep(500)
      samples.push({ atMs: Math.round(performance.now() - started), connections: publisher.stats().connections, sockets: -1, fds: -1 })
    }
    const during = publisher.stats()
    broker.thaw()
    console.info(
      `frozen broker, in process: publisher connections over 6 s: ${samples.map((s) => `${s.atMs}ms ${s.connections}`).join(', ')}; ${during.retried} failed attempts`,
    )
    expect(during.retried).toBeGreaterThan(2)
    expect(max(samples.map((s) => s.connections))).toBeLessThanOrEqual(3)
    expect(during.outboxBytes).toBeGreaterThan(0)

    reader = await readTopics(broker.brokers, [topics.comparisons])
    await reader.until((messages) => new Set(messages.map((m) => m.value.requestId)).size >= written, `all ${written} records after the thaw`, 60_000)
    expect(new Set(reader.messages.map((m) => String(m.value.requestId)))).toEqual(new Set(Array.from({ length: written }, (_, n) => `r-${n}`)))
    await until(() => publisher.stats().outboxBytes === 0, 'the outbox to drain', { timeoutMs: 20_000 })
    await publisher.close(1_000)
    expect(publisher.stats().connections).toBe(0)
  }, 90_000)

  it('a gateway process exits on SIGTERM within shutdownTimeoutMs while the broker is frozen, and a restart after the thaw delivers every comparison', async () => {
    const topics = uniqueTopics(broker.brokers)
    const shutdownTimeoutMs = 2_000
    const gateway = await gatewayProcess(topics.env, shutdownTimeoutMs)
    const before = await drive(gateway, 'warm', 10)
    await until(
      async () => (await scrape(gateway)).get('ficus_event_sink_records_written_total{sink="kafka"}') === 10,
      'the first 10 comparisons to be acknowledged',
      { timeoutMs: 20_000 },
    )
    broker.freeze()
    const during: string[] = []
    const samples = await sampleProcess(gateway.pid, 10, 1_000, async (i) => during.push(...(await drive(gateway, `frozen-${i}`, 3))))
    console.info(`frozen broker, gateway process: open sockets / fds over 10 s: ${samples.map((s) => `${s.atMs}ms ${s.sockets}/${s.fds}`).join(', ')}`)
    expect(max(samples.slice(-5).map((s) => s.sockets))).toBeLessThanOrEqual(max(samples.slice(0, 3).map((s) => s.sockets)) + 1)

    const finished = await signalAndWait(gateway, 'SIGTERM')
    console.info(
      `frozen broker, gateway process: exited ${finished.code} ${Math.round(finished.elapsedMs)} ms after SIGTERM (shutdownTimeoutMs ${shutdownTimeoutMs})`,
    )
    expect(finished.code).toBe(0)
    expect(finished.elapsedMs).toBeLessThan(shutdownTimeoutMs)
    const left = await outboxRequestIds(join(gateway.dataDir, 'outbox'))
    expect(left.length).toBeGreaterThan(0)

    broker.thaw()
    const again = await gatewayProcess(topics.env, shutdownTimeoutMs)
    const all = [...before, ...during]
    reader = await readTopics(broker.brokers, [topics.comparisons])
    await reader.until((messages) => new Set(messages.map((m) => m.value.requestId)).size >= all.length, `all ${all.length} comparisons`, 60_000)
    expect(new Set(reader.messages.map((m) => String(m.value.requestId)))).toEqual(new Set(all))
    expect((await signalAndWait(again, 'SIGTERM')).code).toBe(0)
  }, 150_000)
})
