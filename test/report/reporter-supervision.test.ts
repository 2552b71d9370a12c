import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReporter } from '../../src/app/start-reporter.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { comparisonKey } from '../../src/publish/open-sinks.ts'
import { ConsumerLagProbe } from '../../src/report/reporter/consumer-lag.ts'
import { ReporterEvidence } from '../../src/report/reporter/evidence-sources.ts'
import { RedisReportStateStore, type ReportStateStore } from '../../src/report/reporter/report-state.ts'
import { ReporterSupervisor } from '../../src/report/reporter/reporter-supervisor.ts'
import { ReporterService } from '../../src/report/reporter/reporter.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { runFicus } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { until } from '../helpers/wait.ts'

// Issue 19, points 3 and 4, on the real broker and Redis: a reporter's health is its consumer's
// real state, and one slice's comparisons spread over partitions and reporters.
const brokers = inject('kafkaBrokers')
const kafka = createKafkaClient({ clientId: 'reporter-supervision-test', brokers: [brokers] })
const prefix = uniquePrefix()
let dir: string

const CONFIG = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
const RULES = validateConfig(CONFIG).slices[0]!.compare.rulesHash
const records = (count: number): Comparison[] => Array.from({ length: count }, () => comparison({ slice: 'policy-status', rulesHash: RULES }))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-reporter-supervision-'))
  await writeFile(join(dir, 'routes.config.ts'), `export default ${JSON.stringify(CONFIG)}\n`)
})
afterAll(async () => {
  await dropPrefix(prefix)
  await rm(dir, { recursive: true, force: true })
})

async function newTopic(partitions: number): Promise<string> {
  const topic = `supervision-${randomUUID().slice(0, 8)}`
  const admin = await kafka.admin()
  await admin.ensureTopics([{ topic, partitions, replicationFactor: 1 }])
  await admin.close()
  return topic
}

/** Publishes as the gateway does: keyed by `comparisonKey` of the config (by default, the request id here). */
async function publish(topic: string, list: Comparison[]): Promise<void> {
  const key = comparisonKey(validateConfig(CONFIG))
  const producer = await kafka.producer({ idempotent: false, compress: false })
  await producer.send([{ topic, messages: list.map((record) => ({ key: key(record), value: JSON.stringify(record) })) }])
  await producer.close()
}

/** A Redis store whose saves can be made to hang: a Redis that froze under the reporter. */
function freezable(store: ReportStateStore): ReportStateStore & { frozen: boolean; release(): void } {
  const waiting: (() => void)[] = []
  return {
    frozen: false,
    load: (topic, partition) => store.load(topic, partition),
    claim: (topic, partition, owner) => store.claim(topic, partition, owner),
    async save(write) {
      if (this.frozen) await new Promise<void>((resolve) => waiting.push(resolve))
      return await store.save(write)
    },
    all: (topic) => store.all(topic),
    close: () => store.close(),
    release() {
      this.frozen = false
      for (const resolve of waiting.splice(0)) resolve()
    },
  }
}

describe('reporter health', () => {
  it('answers with the consumer’s real state: joined, assigned partitions, lag, counted; and /metrics', async () => {
    const topic = await newTopic(3)
    const running = await startReporter(
      {
        brokers: [brokers],
        topic,
        groupId: `health-${prefix}`,
        logLevel: 'silent',
        prettyLogs: false,
        port: 0,
        host: '127.0.0.1',
        token: undefined,
        redisUrl: REDIS_URL,
        redisPrefix: `${prefix}health:`,
        configFile: join(dir, 'routes.config.ts'),
        instance: 'r-health',
        stallMs: 30_000,
        maxRestarts: 5,
      },
      dir,
    )
    try {
      const url = `http://127.0.0.1:${(running.app.server.address() as { port: number }).port}`
      await until(async () => (await send(`${url}/readyz`)).status === 200, 'the reporter in its group', { timeoutMs: 30_000 })
      await publish(topic, records(30))
      type Health = {
        status: string
        counted: number
        lag: number
        consumer: { phase: string; assigned: number[] }
        partitions: { partition: number; lag: number }[]
      }
      let health: Health | undefined
      await until(
        async () => {
          health = JSON.parse((await send(`${url}/healthz`)).body) as Health
          return health.counted === 30 && health.lag === 0 && health.partitions.every((entry) => entry.lag === 0)
        },
        'the 30 comparisons counted and the lag read back at 0',
        { timeoutMs: 30_000, intervalMs: 200 },
      )
      expect(health).toMatchObject({ status: 'ok', consumer: { phase: 'joined', assigned: [0, 1, 2] } })
      expect(health!.partitions.map((entry) => entry.partition)).toEqual([0, 1, 2])
      const metrics = (await send(`${url}/metrics`)).body
      expect(metrics).toContain(`ficus_reporter_partition_lag{topic="${topic}",partition="1"} 0`)
      expect(metrics).toContain('ficus_reporter_comparisons_counted_total 30')
      expect(metrics).toContain('ficus_reporter_consumer_restarts_total 0')
      expect(metrics).toContain('ficus_reporter_consumer_healthy 1')
      expect(metrics).toContain('ficus_reporter_duplicates_dropped_total')
      expect(metrics).toContain('ficus_reporter_fenced_writes_total')
    } finally {
      await running.close()
    }
  })

  it('reports a consumer stalled with records waiting (a frozen Redis under its batch) as unhealthy, and stays so once its restarts are spent', async () => {
    const topic = await newTopic(2)
    const groupId = `stall-${prefix}`
    const store = freezable(new RedisReportStateStore(REDIS_URL, `${prefix}stall:`, { queueWhileOffline: true }))
    const { logger, lines } = capturingLogger()
    const probe = new ConsumerLagProbe({ brokers: [brokers], clientId: 'stall-lag', topic, groupId, logger, intervalMs: 300 })
    const supervisor = new ReporterSupervisor({
      create: () => new ReporterService({ brokers: [brokers], topic, groupId, clientId: 'ficus-reporter-stall', store, logger }),
      offsets: () => probe.latest,
      logger,
      bounds: { joinMs: 60_000, stallMs: 3_000 },
      policy: { maxRestarts: 0 },
    })
    probe.start()
    await supervisor.start()
    try {
      await until(() => supervisor.health().ready, 'the reporter in its group', { timeoutMs: 30_000 })
      store.frozen = true
      await publish(topic, records(12))
      await until(() => !supervisor.health().healthy, 'the stalled reporter unhealthy', { timeoutMs: 20_000, intervalMs: 200 })
      const health = supervisor.health()
      expect(health.problem).toMatch(/no batch and no heartbeat for \d+ s while 12 records wait/)
      expect(health.lag).toBe(12)
      // Its restart budget (0) is spent: it gives up and stays unhealthy, for the orchestrator to restart it.
      await until(() => supervisor.health().gaveUp, 'the supervisor gave up', { timeoutMs: 5_000 })
      expect(lines.some((line) => line.msg === 'reporter consumer gone; restart budget spent, staying unhealthy')).toBe(true)
      store.release()
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(supervisor.health()).toMatchObject({ healthy: false, ready: false, gaveUp: true })
    } finally {
      store.release()
      await supervisor.close()
      await probe.close()
      await store.close()
    }
  })

  it('replaces a consumer that stopped underneath it, within bounds, and counts every comparison once', async () => {
    const topic = await newTopic(2)
    const groupId = `restart-${prefix}`
    const store = new RedisReportStateStore(REDIS_URL, `${prefix}restart:`, { queueWhileOffline: true })
    const evidence = new ReporterEvidence(store, topic)
    const { logger, lines } = capturingLogger()
    const created: ReporterService[] = []
    const probe = new ConsumerLagProbe({ brokers: [brokers], clientId: 'restart-lag', topic, groupId, logger, intervalMs: 300 })
    const supervisor = new ReporterSupervisor({
      create: () => {
        const reporter = new ReporterService({ brokers: [brokers], topic, groupId, clientId: 'ficus-reporter-restart', store, logger })
        created.push(reporter)
        return reporter
      },
      offsets: () => probe.latest,
      logger,
      bounds: { joinMs: 60_000, stallMs: 30_000 },
      policy: { maxRestarts: 2, baseMs: 200 },
    })
    probe.start()
    await supervisor.start()
    const total = async (): Promise<number> =>
      [...((await evidence.versions('policy-status'))?.values() ?? [])].reduce((sum, aggregate) => sum + aggregate.records, 0)
    try {
      await until(() => supervisor.health().ready, 'the reporter in its group', { timeoutMs: 30_000 })
      await publish(topic, records(20))
      await until(async () => (await total()) === 20, 'the first 20 counted', { timeoutMs: 30_000 })
      // The consumer is gone from under the reporter.
      await created[0]!.stop()
      await until(() => !supervisor.health().healthy, 'unhealthy with its consumer gone', { timeoutMs: 5_000, intervalMs: 50 })
      await until(() => supervisor.health().ready && supervisor.restarts === 1, 'a new consumer in the group', { timeoutMs: 40_000, intervalMs: 200 })
      expect(lines.some((line) => line.msg === 'restarting the reporter consumer' && line.problem === 'the consumer stopped')).toBe(true)
      await publish(topic, records(15))
      await until(async () => (await total()) === 35, 'the next 15 counted by the new consumer', { timeoutMs: 30_000 })
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(await total()).toBe(35)
      expect(supervisor.health()).toMatchObject({ healthy: true, counted: 35, restarts: 1, gaveUp: false })
    } finally {
      await supervisor.close()
      await probe.close()
      await store.close()
    }
  })
})

describe('one slice spread over partitions', () => {
  it('is counted in part by each of two reporters, and the merged totals are exact for the reporters, the gateway and ficus report', async () => {
    const topic = await newTopic(6)
    const groupId = `spread-${prefix}`
    const redisPrefix = `${prefix}spread:`
    const store = new RedisReportStateStore(REDIS_URL, redisPrefix, { queueWhileOffline: true })
    const { logger } = capturingLogger()
    const reporters = ['a', 'b'].map((name) => new ReporterService({ brokers: [brokers], topic, groupId, clientId: `ficus-reporter-${name}`, store, logger }))
    for (const reporter of reporters) await reporter.start()
    try {
      await until(
        () => reporters.every((reporter) => reporter.consumerState.phase === 'joined' && reporter.consumerState.assigned.length === 3),
        'six partitions shared by two reporters',
        {
          timeoutMs: 40_000,
          intervalMs: 200,
        },
      )
      const list = records(120)
      await publish(topic, list)
      const admin = await kafka.admin()
      const used = (await admin.partitionOffsets(topic)).filter((entry) => entry.high > 0n)
      await admin.close()
      // One slice, keyed by request: on several partitions (all six, in practice), not one.
      expect(used.length).toBeGreaterThanOrEqual(4)
      await until(() => reporters[0]!.counted + reporters[1]!.counted === 120, 'all 120 counted', { timeoutMs: 30_000, intervalMs: 100 })
      expect(reporters[0]!.counted).toBeGreaterThan(0)
      expect(reporters[1]!.counted).toBeGreaterThan(0)
      const merged = await new ReporterEvidence(store, topic).versions('policy-status')
      expect([...(merged?.values() ?? [])].reduce((sum, aggregate) => sum + aggregate.records, 0)).toBe(120)

      // The gateway's readiness reads the merged aggregates.
      const gateway = await startTestGateway(CONFIG, {
        env: {
          KAFKA_BROKERS: brokers,
          REDIS_URL,
          FICUS_REDIS_PREFIX: redisPrefix,
          FICUS_TOPIC_COMPARISONS: topic,
          FICUS_TOPIC_AUTHORITY_CHANGES: `${topic}-changes`,
          KAFKA_TOPIC_REPLICATION: '1',
        },
      })
      try {
        const report = JSON.parse((await send(`${gateway.adminUrl}/admin/slices/policy-status/report`)).body) as { evidence: string; records: number }
        expect(report).toMatchObject({ evidence: 'reporter', records: 120 })
      } finally {
        await gateway.stop()
      }
      // `ficus report` reads every partition of the topic.
      const result = await runFicus(['report', '--config', join(dir, 'routes.config.ts'), '--topic', topic, '--format', 'json'], { KAFKA_BROKERS: brokers })
      expect(
        (JSON.parse(result.stdout) as { slices: { slice: string; samples: number }[] }).slices.find((slice) => slice.slice === 'policy-status')?.samples,
      ).toBe(120)
    } finally {
      for (const reporter of reporters) await reporter.stop()
      await store.close()
    }
  })
})

describe('a Redis that loses the reporter’s state', () => {
  it('is refilled from the topic: the reporter claims its partitions again instead of leaving them alone until a rebalance', async () => {
    const topic = await newTopic(2)
    const redisPrefix = `${prefix}lost:`
    const store = new RedisReportStateStore(REDIS_URL, redisPrefix, { queueWhileOffline: true })
    const { logger, lines } = capturingLogger()
    const reporter = new ReporterService({ brokers: [brokers], topic, groupId: `lost-${prefix}`, clientId: 'ficus-reporter-lost', store, logger })
    const evidence = new ReporterEvidence(store, topic)
    const total = async (): Promise<number> =>
      [...((await evidence.versions('policy-status'))?.values() ?? [])].reduce((sum, aggregate) => sum + aggregate.records, 0)
    await reporter.start()
    try {
      await until(() => reporter.consumerState.phase === 'joined', 'the reporter in its group', { timeoutMs: 30_000 })
      await publish(topic, records(30))
      await until(async () => (await total()) === 30, 'the first 30 counted', { timeoutMs: 30_000 })
      // Redis restarts empty (or is flushed): aggregates, ids and fences are gone; the group is not told.
      await dropPrefix(redisPrefix)
      await publish(topic, records(20))
      await until(async () => (await total()) === 50, 'every comparison on the topic counted again', {
        timeoutMs: 20_000,
        intervalMs: 200,
      })
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(await total()).toBe(50)
      expect(lines.some((line) => line.msg === 'the saved state of a partition is gone; claiming it again and counting it from the topic')).toBe(true)
    } finally {
      await reporter.stop()
      await store.close()
    }
  })
})

describe('a write that fails', () => {
  it('is made again: the batch counted in memory is saved without waiting for more traffic', async () => {
    const topic = await newTopic(1)
    const inner = new RedisReportStateStore(REDIS_URL, `${prefix}failed-write:`, { queueWhileOffline: true })
    let failures = 1
    // Redis answers one save with an error (a failover, a timeout), then comes back.
    const store: ReportStateStore = {
      load: (t, p) => inner.load(t, p),
      claim: (t, p, owner) => inner.claim(t, p, owner),
      save: async (write) => {
        if (failures-- > 0) throw new Error('Connection is closed.')
        return inner.save(write)
      },
      all: (t) => inner.all(t),
      close: () => inner.close(),
    }
    const { logger } = capturingLogger()
    const reporter = new ReporterService({ brokers: [brokers], topic, groupId: `failed-write-${prefix}`, clientId: 'ficus-reporter-failed', store, logger })
    const evidence = new ReporterEvidence(inner, topic)
    const total = async (): Promise<number> =>
      [...((await evidence.versions('policy-status'))?.values() ?? [])].reduce((sum, aggregate) => sum + aggregate.records, 0)
    await reporter.start()
    try {
      await until(() => reporter.consumerState.phase === 'joined', 'the reporter in its group', { timeoutMs: 30_000 })
      await publish(topic, records(10))
      await until(async () => (await total()) === 10, 'the 10 comparisons saved after the failed write', { timeoutMs: 15_000, intervalMs: 200 })
      expect(failures).toBeLessThan(0)
      // What its health and metrics say it counted: what it saved, the batch of the failed write once.
      expect(reporter.counted).toBe(10)
    } finally {
      await reporter.stop()
      await store.close()
    }
  })
})

describe('an idle reporter', () => {
  it('stays healthy with nothing to read: its heartbeats keep coming within a short stall bound', async () => {
    const topic = await newTopic(2)
    const groupId = `idle-${prefix}`
    const store = new RedisReportStateStore(REDIS_URL, `${prefix}idle:`, { queueWhileOffline: true })
    const { logger } = capturingLogger()
    const probe = new ConsumerLagProbe({ brokers: [brokers], clientId: 'idle-lag', topic, groupId, logger, intervalMs: 300 })
    const supervisor = new ReporterSupervisor({
      create: () => new ReporterService({ brokers: [brokers], topic, groupId, clientId: 'ficus-reporter-idle', store, logger }),
      offsets: () => probe.latest,
      logger,
      bounds: { joinMs: 60_000, stallMs: 7_000 },
      policy: { maxRestarts: 0 },
    })
    probe.start()
    await supervisor.start()
    try {
      await until(() => supervisor.health().ready, 'the reporter in its group', { timeoutMs: 30_000 })
      // Twelve seconds idle, sampled every half second: never unhealthy.
      const problems: string[] = []
      for (let i = 0; i < 24; i++) {
        const health = supervisor.health()
        if (!health.healthy) problems.push(health.problem ?? '')
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      expect(problems).toEqual([])
      expect(supervisor.health()).toMatchObject({ healthy: true, lag: 0, restarts: 0 })
    } finally {
      await supervisor.close()
      await probe.close()
      await store.close()
    }
  })
})
