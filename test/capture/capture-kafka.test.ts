import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import type { CaptureResult } from '../../src/capture/capture-queue.ts'
import { CAPTURE_FORMAT_VERSION, type CapturedPair } from '../../src/capture/captured-pair.ts'
import { KafkaCaptureStore } from '../../src/capture/kafka-capture-store.ts'
import { openCaptureReader, type CaptureKeys } from '../../src/capture/read-captures.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import type { KafkaSettings } from '../../src/publish/open-sinks.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'
import { poll } from '../helpers/wait.ts'

// Captured pairs on the captures topic of the real broker: the same envelopes, keyed by slice,
// expired by the topic's retention.ms (the longest slice retention), readable only with the key.

const brokers = inject('kafkaBrokers')
const KEY = randomBytes(32).toString('base64')
const keys = parseCaptureKeys(`k1:${KEY}`)
const MARK = 'kafka-plaintext-4e7d19'
const admin = await createKafkaClient({ clientId: 'capture-test', brokers: [brokers] }).admin()
const upstreams = upstreamPair()
let gateway: TestGateway | undefined
let reader: TopicReader | undefined

afterEach(async () => {
  await reader?.close()
  await gateway?.stop()
  reader = undefined
  gateway = undefined
})
afterAll(async () => {
  await admin.close()
})

function settings(topic: string): KafkaSettings {
  return {
    brokers: [brokers],
    clientId: 'capture-test',
    topics: { comparisons: 'unused.c', 'authority-changes': 'unused.a', 'triage-actions': 'unused.t' },
    partitions: 2,
    replicationFactor: 1,
    outboxMaxBytes: undefined,
    capturesTopic: topic,
  }
}

function pair(slice: string, note: string, at = Date.now()): CapturedPair {
  const answer = {
    status: 200,
    headers: {},
    body: Buffer.from(JSON.stringify({ note })).toString('base64'),
    complete: true,
    length: 20,
    sha256: `sha256:${'0'.repeat(64)}`,
  }
  return {
    version: CAPTURE_FORMAT_VERSION,
    capturedAt: new Date(at).toISOString(),
    slice,
    route: 'GET /policy/:id/status',
    method: 'GET',
    primarySide: 'legacy',
    legacy: answer,
    modern: answer,
    comparison: comparison({ slice }),
  }
}

async function readBack(
  kafka: KafkaSettings,
  slice: string,
  withKeys: CaptureKeys,
  since = new Date(Date.now() - 600_000),
): Promise<{ notes: string[]; unreadable: number }> {
  const captures = openCaptureReader({ dataDir: '/nonexistent', kafka, store: 'kafka', keys: withKeys, logger: capturingLogger().logger })
  const notes: string[] = []
  for await (const found of captures.pairs(slice, since)) notes.push((JSON.parse(Buffer.from(found.legacy.body, 'base64').toString()) as { note: string }).note)
  await captures.close()
  return { notes, unreadable: captures.unreadable }
}

describe('captures on Kafka', () => {
  it('round-trips through a topic created with the retention asked for, per slice, only with the key', async () => {
    const topic = `test.captures.${randomUUID().slice(0, 8)}`
    const kafka = settings(topic)
    const results: CaptureResult[] = []
    const store = new KafkaCaptureStore({
      kafka,
      retentionMs: 1.5 * 3_600_000,
      keys,
      logger: capturingLogger().logger,
      metrics: {
        recordCapture: (_slice, result, count = 1) => results.push(...Array<CaptureResult>(count).fill(result)),
        recordCapturePurged: () => undefined,
      },
    })
    store.open()
    store.write(pair('policy-status', `${MARK}-1`))
    store.write(pair('billing-eligibility', `${MARK}-2`))
    store.write(pair('policy-status', `${MARK}-3`))
    await store.flush()
    await store.close()
    expect(results).toEqual(['written', 'written', 'written'])
    // Kafka deletes whole log segments once their newest record expired: segments of a tenth of the
    // retention (not the broker's default week), or a capture would stay long after its retention.
    expect(await admin.topicConfigs(topic, ['retention.ms', 'cleanup.policy', 'segment.ms'])).toEqual({
      'retention.ms': String(1.5 * 3_600_000),
      'cleanup.policy': 'delete',
      'segment.ms': String(0.15 * 3_600_000),
    })

    expect((await readBack(kafka, 'policy-status', keys)).notes.sort()).toEqual([`${MARK}-1`, `${MARK}-3`])
    expect(await readBack(kafka, 'billing-eligibility', keys)).toEqual({ notes: [`${MARK}-2`], unreadable: 0 })
    expect(await readBack(kafka, 'policy-status', keys, new Date(Date.now() + 60_000))).toEqual({ notes: [], unreadable: 0 })
    expect(await readBack(kafka, 'policy-status', parseCaptureKeys(`k1:${randomBytes(32).toString('base64')}`))).toEqual({ notes: [], unreadable: 2 })

    // The raw messages: keyed by slice, nothing of the bodies in clear.
    reader = await readTopics(brokers, [topic])
    await reader.until((messages) => messages.length === 3, 'the three captures')
    expect(reader.messages.map((message) => message.key).sort()).toEqual(['billing-eligibility', 'policy-status', 'policy-status'])
    const raw = JSON.stringify(reader.messages)
    expect(raw).not.toContain(MARK)
    expect(raw).not.toContain(Buffer.from(`{"note":"${MARK}`).toString('base64').slice(0, 16))
  })

  it('captures a gateway’s shadowed pairs on the topic with capture.store kafka', async () => {
    const topics = uniqueTopics(brokers)
    const capturesTopic = `test.captures.${randomUUID().slice(0, 8)}`
    const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
    config.slices['policy-status']!.shadow = {}
    config.slices['policy-status']!.capture = { retentionHours: 2 }
    gateway = await startTestGateway(
      { ...config, capture: { store: 'kafka' } },
      { env: { ...topics.env, FICUS_TOPIC_CAPTURES: capturesTopic, FICUS_CAPTURE_KEYS: `k1:${KEY}` } },
    )
    for (let i = 0; i < 3; i++) expect((await send(`${gateway.url}/policy/P-${i}/status`, { headers: { 'x-request-id': `kc-${i}` } })).status).toBe(200)
    const kafka = { ...settings(capturesTopic) }
    const found = await poll(
      async () => {
        const captures = openCaptureReader({ dataDir: gateway!.dataDir, kafka, store: 'kafka', keys, logger: capturingLogger().logger })
        const pairs: CapturedPair[] = []
        for await (const one of captures.pairs('policy-status', new Date(Date.now() - 600_000))) pairs.push(one)
        return pairs
      },
      (pairs) => pairs.length === 3,
      { timeoutMs: 20_000, intervalMs: 250 },
    )
    expect(found.map((one) => one.comparison.requestId).sort()).toEqual(['kc-0', 'kc-1', 'kc-2'])
    expect(await admin.topicConfigs(capturesTopic, ['retention.ms'])).toEqual({ 'retention.ms': String(2 * 3_600_000) })
  })
})
