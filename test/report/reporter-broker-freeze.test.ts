import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { startReporter } from '../../src/app/start-reporter.ts'
import { RedisReportStateStore } from '../../src/report/reporter/report-state.ts'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics } from '../helpers/kafka.ts'
import { runFicus } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'
import { startKafkaBroker, type KafkaBroker } from '../kafka/kafka-broker.ts'

/**
 * Issue 19, point 5: after a frozen broker, every total equals the distinct event ids on the topic.
 * A real gateway publishes the comparisons of one slice from real traffic to a broker of this
 * file's own (the test freezes it: the suite's shared broker must keep serving other files), two
 * reporters count them into Redis, and the gateway's readiness evidence is their merged aggregates.
 * The broker freezes for 13 s under traffic — past the reporters' 10 s session timeout, long enough
 * for the publisher's sends to time out and be resent — and thaws. Then the reporters' merged
 * totals, the gateway's `GET /admin/slices/policy-status/report` and `ficus report --source kafka`
 * all equal the distinct event ids read back from the topic.
 */
let broker: KafkaBroker
let legacy: TestUpstream
let modern: TestUpstream
let dir: string
const prefix = uniquePrefix()

beforeAll(async () => {
  broker = await startKafkaBroker({ distribution: inject('kafkaDistribution') })
  legacy = await startUpstream('legacy', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end('{"status":"ACTIVE"}')
  })
  modern = await startUpstream('modern', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end('{"status":"ACTIVE"}')
  })
  dir = await mkdtemp(join(tmpdir(), 'ficus-reporter-freeze-'))
}, 120_000)
afterAll(async () => {
  broker?.thaw()
  await legacy?.close()
  await modern?.close()
  await broker?.destroy()
  await dropPrefix(prefix)
  await rm(dir, { recursive: true, force: true })
})

describe('two reporters and a gateway through a frozen broker', () => {
  it('agree with the distinct event ids on the topic: the reporters’ totals, the gateway’s readiness evidence and ficus report', async () => {
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = {}
    const configFile = join(dir, 'routes.config.mjs')
    await writeFile(configFile, `export default ${JSON.stringify(config)}\n`)
    const topics = uniqueTopics(broker.brokers)
    const env = { ...topics.env, KAFKA_TOPIC_PARTITIONS: '4', REDIS_URL, FICUS_REDIS_PREFIX: prefix }
    const gateway: TestGateway = await startTestGateway(config, { env })
    // The topic the gateway created has its partitions led before the reporters subscribe (a fresh
    // broker may still be electing them: a consumer that subscribes then is refused at start).
    const admin = await createKafkaClient({ clientId: 'freeze-test-admin', brokers: [broker.brokers] }).admin()
    await until(
      async () => (await admin.partitionOffsets(topics.comparisons).catch(() => [])).length === 4,
      'the comparisons topic with its 4 partitions led',
      { timeoutMs: 30_000, intervalMs: 200 },
    )
    // The store the reporters write, read here for their merged totals.
    const store = new RedisReportStateStore(REDIS_URL, prefix)
    // Two `ficus reporter`s as production composes them (startReporter: the consumer under its
    // supervisor, which replaces a consumer the freeze left stalled; stall bound shortened).
    const reporters = await Promise.all(
      ['a', 'b'].map((name) =>
        startReporter(
          {
            brokers: [broker.brokers],
            topic: topics.comparisons,
            groupId: `freeze-${prefix}`,
            logLevel: 'error',
            prettyLogs: false,
            port: 0,
            host: '127.0.0.1',
            token: undefined,
            redisUrl: REDIS_URL,
            redisPrefix: prefix,
            configFile,
            instance: `freeze-${name}`,
            stallMs: 5_000,
            maxRestarts: 5,
          },
          dir,
        ),
      ),
    )
    const reader = await readTopics(broker.brokers, [topics.comparisons])
    let sent = 0
    let running = true
    // Real traffic, bounded: one request every 40 ms for at most 40 s, each one comparison.
    const traffic = (async () => {
      const deadline = Date.now() + 40_000
      while (running && Date.now() < deadline) {
        const id = sent++
        await send(`${gateway.url}/policy/P-${id % 50}/status`, { headers: { 'x-request-id': `freeze-${id}` } })
        await sleep(40)
      }
    })()
    try {
      await until(
        () =>
          reporters.every(
            (reporter) => reporter.supervisor.health().consumer.phase === 'joined' && reporter.supervisor.health().consumer.assigned.length === 2,
          ),
        'four partitions shared by two reporters',
        { timeoutMs: 30_000, intervalMs: 100 },
      )
      await sleep(2_000)
      broker.freeze()
      await sleep(13_000)
      broker.thaw()
      await sleep(4_000)
      running = false
      await traffic
      // Every request's comparison reaches the topic (the publisher resends what the freeze held up).
      await reader.until(
        (messages) => new Set(messages.map((message) => message.value.requestId)).size === sent,
        `the ${sent} comparisons on the topic`,
        40_000,
      )
      // The reader may see a record twice (its own group rebalanced through the freeze): the ids are what counts.
      const distinct = new Set(reader.messages.map((message) => message.value.eventId as string))
      const onTopic = (await admin.partitionOffsets(topics.comparisons)).reduce((sum, entry) => sum + Number(entry.high - entry.low), 0)
      const merged = async (): Promise<number> =>
        (await store.all(topics.comparisons)).reduce(
          (sum, state) => sum + state.slices.reduce((inner, json) => inner + SliceAggregate.fromJSON(json).records, 0),
          0,
        )
      await until(
        async () => (await merged()) >= distinct.size,
        () => `the reporters' totals reaching ${distinct.size}`,
        {
          timeoutMs: 45_000,
          intervalMs: 200,
        },
      ).catch(() => undefined)
      // A moment more: a count past the distinct ids would show.
      await sleep(1_000)
      const reportersTotal = await merged()
      const evidence = JSON.parse((await send(`${gateway.adminUrl}/admin/slices/policy-status/report`)).body) as {
        evidence: string
        records: number
        samples: number
      }
      const result = await runFicus(['report', '--config', configFile, '--topic', topics.comparisons, '--source', 'kafka', '--format', 'json'], {
        KAFKA_BROKERS: broker.brokers,
      })
      const report = (JSON.parse(result.stdout) as { slices: { slice: string; records: number }[] }).slices.find((slice) => slice.slice === 'policy-status')
      const health = reporters.map((reporter) => reporter.supervisor.health())
      console.info(
        `frozen broker: ${sent} requests, ${onTopic} records on the topic, ${distinct.size} distinct event ids ` +
          `(${onTopic - distinct.size} copies); reporters ${reportersTotal} (dropped ${health[0]!.duplicatesDropped + health[1]!.duplicatesDropped} ` +
          `copies, ${health[0]!.fencedWrites + health[1]!.fencedWrites} writes refused, ${health[0]!.restarts + health[1]!.restarts} consumer restarts); ` +
          `gateway ${evidence.evidence} ${evidence.records}; ficus report ${report?.records}`,
      )
      if (reportersTotal !== distinct.size) console.info(JSON.stringify(health))
      expect(distinct.size).toBe(sent)
      expect(reportersTotal).toBe(distinct.size)
      expect(evidence).toMatchObject({ evidence: 'reporter', records: distinct.size })
      expect(report?.records).toBe(distinct.size)
    } finally {
      running = false
      broker.thaw()
      await traffic
      await reader.close()
      await admin.close()
      for (const reporter of reporters) await reporter.close()
      await store.close()
      await gateway.stop()
    }
  }, 110_000)
})
