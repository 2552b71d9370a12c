import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { AuthorityChangedSchema } from '../../src/publish/authority-changed-schema.ts'
import { DEFAULT_EVENT_DURABILITY } from '../../src/publish/event-durability.ts'
import { triageActionEvent } from '../../src/publish/events.ts'
import { openEventSinks, type EventSinks } from '../../src/publish/open-sinks.ts'
import { publishedSchema, schemaErrors } from '../helpers/json-schema.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

const brokers = inject('kafkaBrokers')
const upstreams = upstreamPair()
let gateway: TestGateway | undefined
let reader: TopicReader | undefined

afterEach(async () => {
  await reader?.close()
  await gateway?.stop()
  reader = undefined
  gateway = undefined
})

function shadowedConfig() {
  const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url)
  config.slices['policy-status']!.shadow = {}
  config.slices['billing-eligibility'] = {
    description: 'd',
    authority: 'modern',
    routes: [{ method: 'GET', path: '/billing/:id' }],
    // Keyed by entity: the default for a slice that names one.
    entityKey: { param: 'id' },
    shadow: {},
  }
  return config
}

describe('Kafka sink against the real broker', () => {
  it('publishes every comparison exactly once, valid against the schema, keyed and ordered per key', async () => {
    const topics = uniqueTopics(brokers)
    gateway = await startTestGateway(shadowedConfig(), { env: topics.env })
    const ids: string[] = []
    for (let i = 0; i < 60; i++) {
      const id = `k-${i}`
      ids.push(id)
      const path = i % 3 === 0 ? `/billing/B-${i % 2}` : `/policy/P-${i}/status`
      expect((await send(`${gateway.url}${path}`, { headers: { 'x-request-id': id } })).status).toBe(200)
    }
    reader = await readTopics(brokers, [topics.comparisons])
    await reader.until((messages) => new Set(messages.map((m) => m.value.requestId)).size === 60, 'all 60 comparisons')
    // A moment more: a duplicate would show up now.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const byEvent = new Map<string, number>()
    for (const message of reader.messages) byEvent.set(String(message.value.eventId), (byEvent.get(String(message.value.eventId)) ?? 0) + 1)
    expect([...byEvent.values()].every((count) => count === 1)).toBe(true)
    expect(reader.messages).toHaveLength(60)
    expect(new Set(reader.messages.map((m) => m.value.requestId))).toEqual(new Set(ids))

    for (const message of reader.messages) {
      expect([...Value.Errors(ComparisonSchema, message.value)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
      expect(message.headers).toEqual({
        'ficus-event-type': 'ficus.comparison',
        'ficus-schema-version': '1',
        'ficus-event-id': message.value.eventId,
        'content-type': 'application/json',
      })
      // By default a slice with an entity key is keyed by entity, one without by request id.
      expect(message.key).toBe(message.value.slice === 'billing-eligibility' ? message.value.entityKey : message.value.requestId)
    }
    // Per key, consumers see comparisons in the order the gateway wrote them.
    for (const key of new Set(reader.messages.map((m) => m.key))) {
      const times = reader.messages.filter((m) => m.key === key).map((m) => Date.parse(String(m.value.eventTime)))
      expect(times).toEqual([...times].sort((a, b) => a - b))
    }
  })

  it('publishes authority changes with their content', async () => {
    const topics = uniqueTopics(brokers)
    gateway = await startTestGateway(shadowedConfig(), { env: topics.env, instance: 'gw-events' })
    const flip = await send(`${gateway.adminUrl}/admin/slices/policy-status/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ana' },
      body: JSON.stringify({ authority: '30%', reason: 'start' }),
    })
    expect(flip.status).toBe(200)
    await send(`${gateway.adminUrl}/admin/kill-switch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ficus-actor': 'oncall' },
      body: JSON.stringify({ reason: 'incident 9' }),
    })
    reader = await readTopics(brokers, [topics.authority])
    await reader.until((messages) => messages.length >= 3, 'three authority changes')
    const events = reader.messages
      .map((m) => m.value)
      .sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)) || String(a.slice).localeCompare(String(b.slice)))
    expect(events).toEqual([
      expect.objectContaining({
        eventType: 'ficus.authority-changed',
        schemaVersion: 1,
        slice: 'policy-status',
        before: 'legacy',
        after: '30%',
        version: 1,
        actor: 'ana',
        reason: 'start',
        kind: 'flip',
        instance: 'gw-events',
        configVersion: gateway.config.version,
      }),
      expect.objectContaining({
        slice: 'billing-eligibility',
        before: 'modern',
        after: 'legacy',
        version: 1,
        actor: 'oncall',
        reason: 'incident 9',
        kind: 'kill-switch',
      }),
      expect.objectContaining({ slice: 'policy-status', before: '30%', after: 'legacy', version: 2, kind: 'kill-switch' }),
    ])
    expect(reader.messages.every((m) => m.key === m.value.slice && m.headers['ficus-event-type'] === 'ficus.authority-changed')).toBe(true)
    for (const message of reader.messages) expect([...Value.Errors(AuthorityChangedSchema, message.value)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
  })

  it('shows the sink in readiness and the admin API', async () => {
    const topics = uniqueTopics(brokers)
    gateway = await startTestGateway(shadowedConfig(), { env: topics.env })
    await send(`${gateway.url}/policy/P-1/status`)
    const gw = gateway
    const written = /^ficus_event_sink_records_written_total\{sink="kafka"\} [1-9]\d*$/m
    let metrics = ''
    for (let i = 0; i < 100 && !written.test(metrics); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      metrics = (await send(`${gw.adminUrl}/metrics`)).body
    }
    expect(metrics).toMatch(written)
    expect(metrics).toMatch(/^ficus_outbox_bytes 0$/m)
    const ready = JSON.parse((await send(`${gw.adminUrl}/readyz`)).body) as { sink: unknown }
    expect(ready.sink).toEqual({ kind: 'kafka', state: 'connected', outboxBytes: 0 })
    const slices = JSON.parse((await send(`${gw.adminUrl}/admin/slices`)).body) as { sink: unknown }
    expect(slices.sink).toEqual({ kind: 'kafka', state: 'connected', outboxBytes: 0 })
  })
})

describe('triage actions on Kafka', () => {
  let dir: string | undefined
  let sinks: EventSinks | undefined

  afterEach(async () => {
    await reader?.close()
    reader = undefined
    await sinks?.close(2_000)
    sinks = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('publishes triage actions written durably on their own topic, keyed by signature, with their headers, valid against the published schema', async () => {
    const topics = uniqueTopics(brokers)
    dir = await mkdtemp(join(tmpdir(), 'ficus-triage-kafka-'))
    sinks = await openEventSinks({
      kafka: {
        brokers: [brokers],
        clientId: 'ficus-triage-test',
        topics: { comparisons: topics.comparisons, 'authority-changes': topics.authority, 'triage-actions': topics.triage },
        partitions: 3,
        replicationFactor: 1,
        outboxMaxBytes: undefined,
      },
      dataDir: dir,
      config: validateConfig(sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')),
      logger: capturingLogger().logger,
      durability: DEFAULT_EVENT_DURABILITY,
    })
    const signature = { slice: 'policy-status', route: 'GET /policy/:id/status', family: 'genuine-conflict' } as const
    const base = { actor: 'ana', reason: 'r', at: '2026-11-24T09:12:00.000Z', instance: 'gw-triage' }
    const events = [
      triageActionEvent({ ...base, id: '6a4f2b10-9c3e-4e8d-b1a7-5d2c0e9f8a41', signature: 'aaaaaaaaaaaaaaaa', action: 'assign', assignee: 'bo' }, signature),
      triageActionEvent(
        { ...base, id: '0f8e1c52-3b7a-4d1e-9a64-2c5d8e7f1b30', signature: 'aaaaaaaaaaaaaaaa', action: 'mark-modern-defect', ticket: 'MOD-1' },
        signature,
      ),
      triageActionEvent({ ...base, id: '9d3c7e21-5b4a-4f6e-8c1d-0a2b3c4d5e6f', signature: 'bbbbbbbbbbbbbbbb', action: 'wont-fix' }, signature),
    ]
    for (const event of events) await sinks.triageActions.writeDurable(event)
    reader = await readTopics(brokers, [topics.triage, topics.authority, topics.comparisons])
    await reader.until((messages) => messages.length >= 3, 'three triage actions')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(reader.messages.map((m) => m.topic)).toEqual([topics.triage, topics.triage, topics.triage])
    expect(reader.messages.map((m) => m.value).sort((a, b) => String(a.eventId).localeCompare(String(b.eventId)))).toEqual(
      [...events].sort((a, b) => a.eventId.localeCompare(b.eventId)),
    )
    // One signature's actions keep their order (same key, same partition).
    expect(reader.messages.filter((m) => m.key === 'aaaaaaaaaaaaaaaa').map((m) => m.value.action)).toEqual(['assign', 'mark-modern-defect'])
    const published = publishedSchema('triage-action.schema.json')
    for (const message of reader.messages) {
      expect(message.key).toBe(message.value.signature)
      expect(message.headers).toEqual({
        'ficus-event-type': 'ficus.triage-action',
        'ficus-schema-version': '1',
        'ficus-event-id': message.value.eventId,
        'content-type': 'application/json',
      })
      expect(schemaErrors(published, message.value)).toEqual([])
    }
  })
})
