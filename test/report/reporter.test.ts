import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { ReporterEvidence } from '../../src/report/reporter/evidence-sources.ts'
import { RedisReportStateStore } from '../../src/report/reporter/report-state.ts'
import { ReporterService } from '../../src/report/reporter/reporter.ts'
import { RedisDiscrepancyRegister } from '../../src/register/redis-discrepancy-register.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { until } from '../helpers/wait.ts'

const brokers = inject('kafkaBrokers')
const kafka = createKafkaClient({ clientId: 'reporter-test', brokers: [brokers] })
const topic = `reporter-${randomUUID().slice(0, 8)}`
const prefix = uniquePrefix()

beforeAll(async () => {
  const admin = await kafka.admin()
  await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }])
  await admin.close()
})
afterAll(async () => {
  await dropPrefix(prefix)
})

async function publish(records: Comparison[]): Promise<void> {
  const producer = await kafka.producer({ idempotent: false, compress: false })
  await producer.send([{ topic, messages: records.map((record) => ({ key: record.slice, value: JSON.stringify(record) })) }])
  await producer.close()
}

describe('the reporter', () => {
  it('feeds the register once per comparison when a save of its state fails and the batch comes again', async () => {
    const failTopic = `${topic}-fail`
    const admin = await kafka.admin()
    await admin.ensureTopics([{ topic: failTopic, partitions: 1, replicationFactor: 1 }])
    await admin.close()
    const producer = await kafka.producer({ idempotent: false, compress: false })
    const records = Array.from({ length: 5 }, () => comparison({ slice: 'claim-x', category: 'body-mismatch', diffPaths: ['/body/x'] }))
    await producer.send([{ topic: failTopic, messages: records.map((record) => ({ key: record.slice, value: JSON.stringify(record) })) }])
    await producer.close()
    const saved = new RedisReportStateStore(REDIS_URL, prefix)
    let attempts = 0
    // Redis froze during the first reporter's saves: its counts and their offset were never saved.
    const frozen = {
      load: (t: string, partition: number) => saved.load(t, partition),
      claim: (t: string, partition: number, owner: string) => saved.claim(t, partition, owner),
      save: () => {
        attempts += 1
        return Promise.reject(new Error('Command timed out'))
      },
      all: (t: string) => saved.all(t),
      close: () => Promise.resolve(),
    }
    const register = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix: `${prefix}once:`, logger: capturingLogger().logger })
    await register.open()
    const options = { brokers: [brokers], topic: failTopic, groupId: `once-${prefix}`, register, logger: capturingLogger().logger }
    const first = new ReporterService({ ...options, store: frozen })
    await first.start()
    await until(() => attempts > 0, 'a save that failed', { timeoutMs: 30_000 })
    await first.stop()
    // The next owner of the partition takes it up from the saved state: nothing, so it counts the five again.
    const second = new ReporterService({ ...options, store: saved })
    await second.start()
    try {
      await until(async () => (await saved.load(failTopic, 0))?.nextOffset === '5', 'the batch counted and saved by the next owner', { timeoutMs: 30_000 })
      await register.flush()
      const [entry] = await register.list({ slice: 'claim-x', limit: 10 })
      expect(entry?.count).toBe(5)
    } finally {
      await second.stop()
      await register.close()
      await saved.close()
    }
  })

  it('keeps rolling aggregates in Redis and never counts a comparison twice across a restart', async () => {
    const store = new RedisReportStateStore(REDIS_URL, prefix)
    const aggregates = new ReporterEvidence(store, topic)
    // The gateway below judges the evidence made under its slice's rules: the records carry them.
    const config = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
    config.slices['coverage-status'] = { description: 'In force?', authority: 'legacy', routes: [{ method: 'GET', path: '/c/:id' }] }
    config.slices['billing-eligibility'] = { description: 'Eligible?', authority: 'legacy', routes: [{ method: 'GET', path: '/b/:id' }] }
    const rulesHash = validateConfig(config).slices.find((slice) => slice.id === 'coverage-status')!.compare.rulesHash
    const records = (slice: string, count: number, category: 'match' | 'body-mismatch' = 'match') =>
      Array.from({ length: count }, () => comparison({ slice, category, rulesHash, diffPaths: category === 'match' ? [] : ['/body/x'] }))
    const recordsOf = async (slice: string): Promise<number> =>
      [...((await aggregates.versions(slice))?.values() ?? [])].reduce((sum, aggregate) => sum + aggregate.records, 0)

    await publish([...records('coverage-status', 30), ...records('billing-eligibility', 12, 'body-mismatch')])
    // The shared discrepancy register is fed by the reporter in a multi-instance deployment.
    const register = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix, logger: capturingLogger().logger })
    await register.open()
    const first = new ReporterService({ brokers: [brokers], topic, groupId: `reporter-${prefix}`, store, register, logger: capturingLogger().logger })
    await first.start()
    await until(async () => (await recordsOf('coverage-status')) === 30 && (await recordsOf('billing-eligibility')) === 12, 'the first 42 comparisons', {
      timeoutMs: 30_000,
      intervalMs: 100,
    })
    await first.stop()

    await publish(records('coverage-status', 20))
    const second = new ReporterService({ brokers: [brokers], topic, groupId: `reporter-${prefix}`, store, register, logger: capturingLogger().logger })
    await second.start()
    await until(async () => (await recordsOf('coverage-status')) === 50, 'the 20 new comparisons', { timeoutMs: 30_000, intervalMs: 100 })
    // A moment more: anything counted twice would show now.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await recordsOf('coverage-status')).toBe(50)
    expect(await recordsOf('billing-eligibility')).toBe(12)
    expect(second.counted).toBe(20)
    await second.stop()
    // One signature for the twelve conflicts, counted once across the restart.
    await until(async () => (await register.list({ slice: 'billing-eligibility', limit: 10 }))[0]?.count === 12, 'the register fed with 12 conflicts', {
      timeoutMs: 10_000,
    })
    expect(await register.list({ slice: 'billing-eligibility', limit: 10 })).toHaveLength(1)
    await register.close()

    // A gateway with Kafka and Redis judges readiness on the reporter's aggregates.
    const gateway = await startTestGateway(config, {
      env: {
        KAFKA_BROKERS: brokers,
        REDIS_URL,
        FICUS_REDIS_PREFIX: prefix,
        FICUS_TOPIC_COMPARISONS: topic,
        FICUS_TOPIC_AUTHORITY_CHANGES: `${topic}-changes`,
        KAFKA_TOPIC_REPLICATION: '1',
      },
    })
    try {
      const report = JSON.parse((await send(`${gateway.adminUrl}/admin/slices/coverage-status/report`)).body) as {
        evidence: string
        records: number
        samples: number
      }
      expect(report).toMatchObject({ evidence: 'reporter', records: 50, samples: 50 })
      // The gateway reads the register the reporter fed.
      const listed = JSON.parse((await send(`${gateway.adminUrl}/admin/discrepancies?slice=billing-eligibility`)).body) as { entries: { count: number }[] }
      expect(listed.entries.map((entry) => entry.count)).toEqual([12])
    } finally {
      await gateway.stop()
      await store.close()
    }
  })
})
