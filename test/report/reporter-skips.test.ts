import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { ShadowSkipsSchema } from '../../src/publish/shadow-skips-schema.ts'
import { shadowSkips, type ComparisonsStreamEvent } from '../../src/publish/shadow-skips.ts'
import { RedisDiscrepancyRegister } from '../../src/register/redis-discrepancy-register.ts'
import { ReporterEvidence } from '../../src/report/reporter/evidence-sources.ts'
import { RedisReportStateStore } from '../../src/report/reporter/report-state.ts'
import { ReporterService } from '../../src/report/reporter/reporter.ts'
import { readComparisonsFromKafka } from '../../src/report/sources/kafka-source.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { schemaErrors } from '../helpers/json-schema.ts'
import { readTopics, uniqueTopics } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { startUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

// The skip aggregates (ShadowSkips) travel on the comparisons topic: the gateway publishes them
// through its Kafka sink with their own event-type header, `ficus report` reads them from the
// topic, and the reporter counts each exactly once — a redelivered copy (same eventId) is not
// counted again — and never feeds one to the discrepancy register. An event type it does not know
// is passed over, not counted and not taken for an invalid comparison.

const brokers = inject('kafkaBrokers')
const kafka = createKafkaClient({ clientId: 'reporter-skips-test', brokers: [brokers] })
const prefix = uniquePrefix()

afterAll(async () => {
  await dropPrefix(prefix)
})

describe('skip aggregates on Kafka', () => {
  it('a gateway publishes them on the comparisons topic with their own headers; ficus report reads them', async () => {
    const topics = uniqueTopics(brokers)
    const legacy = await startUpstream('legacy')
    const config = sampleConfig(legacy.url, 'http://127.0.0.1:9')
    config.slices['policy-status']!.shadow = { sample: 0 }
    const gateway = await startTestGateway(config, { env: topics.env })
    try {
      for (let i = 0; i < 7; i++) expect((await send(`${gateway.url}/policy/P-${i}/status`)).status).toBe(200)
    } finally {
      await gateway.stop()
      await legacy.close()
    }
    const reader = await readTopics(brokers, [topics.comparisons])
    try {
      await reader.until((messages) => messages.length >= 1, 'the skip aggregate')
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(reader.messages).toHaveLength(1)
      const [message] = reader.messages
      expect(message!.key).toBe('policy-status')
      expect(message!.headers).toMatchObject({
        'ficus-event-type': 'ficus.shadow-skips',
        'ficus-schema-version': '1',
        'ficus-event-id': message!.value.eventId,
      })
      expect(schemaErrors(ShadowSkipsSchema, message!.value)).toEqual([])
      expect(message!.value).toMatchObject({ slice: 'policy-status', counts: { 'sampled-out': 7 }, total: 7 })
    } finally {
      await reader.close()
    }
    const read: ComparisonsStreamEvent[] = []
    const { invalid, other } = await readComparisonsFromKafka(
      { brokers: [brokers], topic: topics.comparisons, from: null, to: null, timeoutMs: 30_000 },
      (event) => read.push(event),
    )
    expect({ invalid, other }).toEqual({ invalid: 0, other: 0 })
    expect(read.map((event) => event.eventType)).toEqual(['ficus.shadow-skips'])
  })

  it('the reporter counts each aggregate exactly once across redelivery, feeds none to the register, and passes over unknown event types', async () => {
    const topic = `skips-${randomUUID().slice(0, 8)}`
    const admin = await kafka.admin()
    await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }])
    await admin.close()
    const rulesHash = validateConfig(sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')).slices[0]!.compare.rulesHash
    const window = (i: number) => ({ start: new Date(Date.now() - 60_000 + i * 10_000), end: new Date(Date.now() - 50_000 + i * 10_000) })
    const skips = [
      shadowSkips({ id: 'policy-status', rulesHash }, { 'queue-full': 5, 'breaker-open': 2 }, window(0), { instance: 'a', configVersion: 'v' }),
      shadowSkips({ id: 'policy-status', rulesHash }, { 'sampled-out': 11 }, window(1), { instance: 'b', configVersion: 'v' }),
    ]
    const records: Comparison[] = Array.from({ length: 4 }, () =>
      comparison({ slice: 'policy-status', rulesHash, category: 'body-mismatch', diffPaths: ['/body/x'] }),
    )
    const unknown = { schemaVersion: 1, eventType: 'ficus.something-later', eventId: randomUUID(), slice: 'policy-status', eventTime: new Date().toISOString() }
    const producer = await kafka.producer({ idempotent: false, compress: false })
    const value = (event: object): string => JSON.stringify(event)
    // Each aggregate twice: a redelivery after a lost acknowledgement carries the same eventId.
    await producer.send([
      { topic, messages: [...skips, ...records, unknown, ...skips].map((event) => ({ key: (event as { slice: string }).slice, value: value(event) })) },
    ])
    await producer.close()

    const store = new RedisReportStateStore(REDIS_URL, prefix)
    const evidence = new ReporterEvidence(store, topic)
    const register = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix: `${prefix}reg:`, logger: capturingLogger().logger })
    await register.open()
    const { logger, lines } = capturingLogger()
    const reporter = new ReporterService({ brokers: [brokers], topic, groupId: `skips-${prefix}`, store, register, logger })
    await reporter.start()
    try {
      const versions = async () => [...((await evidence.versions('policy-status'))?.values() ?? [])]
      await until(async () => (await versions()).reduce((sum, aggregate) => sum + aggregate.records, 0) === 4 + 18, 'four comparisons and 18 skips counted', {
        timeoutMs: 30_000,
        intervalMs: 100,
      })
      await new Promise((resolve) => setTimeout(resolve, 500))
      const [aggregate] = await versions()
      expect(aggregate!.records).toBe(22)
      expect(aggregate!.families['shadow-skipped']).toBe(18)
      expect(Object.fromEntries([...aggregate!.causes].filter(([key]) => key.startsWith('shadow-skipped:')))).toEqual({
        'shadow-skipped:queue-full': 5,
        'shadow-skipped:breaker-open': 2,
        'shadow-skipped:sampled-out': 11,
      })
      // Skips are no call to a side: neither calls nor errors of modern.
      expect(aggregate!.calls.modern).toBe(4)
      await register.flush()
      expect((await register.list({ slice: 'policy-status', limit: 10 })).map((entry) => entry.count)).toEqual([4])
      expect(lines.filter((line) => line.msg === 'skipped a message that is not a comparison')).toEqual([])
    } finally {
      await reporter.stop()
      await register.close()
      await store.close()
    }
  })
})
