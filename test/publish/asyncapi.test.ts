import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { JSON_SCHEMA_DIALECT } from '../../src/compare/published-schema.ts'
import { DEFAULT_TOPICS, EVENT_TYPES, eventHeaders, SCHEMA_VERSIONS, STREAMS, type Stream } from '../../src/publish/events.ts'
import { SHADOW_SKIPS_EVENT_TYPE, SHADOW_SKIPS_SCHEMA_VERSION } from '../../src/publish/shadow-skips.ts'

// docs/asyncapi.yaml is written by hand: these checks keep it in step with what the code publishes.

interface Schema {
  readonly type?: string
  readonly const?: unknown
  readonly required?: readonly string[]
  readonly properties?: Readonly<Record<string, Schema>>
  readonly description?: string
}
interface Message {
  readonly name: string
  readonly contentType: string
  readonly headers: Schema
  readonly payload: { readonly schemaFormat: string; readonly schema: { readonly $ref: string } }
  readonly bindings: { readonly kafka: { readonly key: Schema; readonly bindingVersion: string } }
}
interface Document {
  readonly asyncapi: string
  readonly info: { readonly title: string; readonly version: string }
  readonly servers: Readonly<
    Record<
      string,
      {
        readonly host: string
        readonly protocol: string
        readonly description: string
        readonly variables?: Readonly<Record<string, { readonly description?: string }>>
      }
    >
  >
  readonly channels: Readonly<
    Record<string, { readonly address: string; readonly description: string; readonly messages: Readonly<Record<string, { readonly $ref: string }>> }>
  >
  readonly operations: Readonly<
    Record<string, { readonly action: string; readonly channel: { readonly $ref: string }; readonly messages: readonly { readonly $ref: string }[] }>
  >
}

const DOCS = new URL('../../docs/', import.meta.url)
const text = readFileSync(new URL('asyncapi.yaml', DOCS), 'utf8')
const doc = parse(text) as Document
const TOPIC_ENV: Readonly<Record<Stream, string>> = {
  comparisons: 'FICUS_TOPIC_COMPARISONS',
  'authority-changes': 'FICUS_TOPIC_AUTHORITY_CHANGES',
  'triage-actions': 'FICUS_TOPIC_TRIAGE_ACTIONS',
}

/** Follows a local reference such as `#/components/messages/comparison`. */
function resolve(ref: string): unknown {
  expect(ref.startsWith('#/'), ref).toBe(true)
  const target = ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
  expect(target, `${ref} resolves`).toBeDefined()
  return target
}

/** The events each stream carries besides its own: the comparisons stream also carries the skip aggregates. */
const ALSO: Readonly<Record<Stream, readonly { readonly type: string; readonly version: number }[]>> = {
  comparisons: [{ type: SHADOW_SKIPS_EVENT_TYPE, version: SHADOW_SKIPS_SCHEMA_VERSION }],
  'authority-changes': [],
  'triage-actions': [],
}

/** Every event type a stream carries, with its schema version: its own first. */
function eventsOf(stream: Stream): { type: string; version: number }[] {
  return [{ type: EVENT_TYPES[stream], version: SCHEMA_VERSIONS[stream] }, ...ALSO[stream]]
}

/** The message of a stream's channel named `type` (its own event type unless said). */
function messageOf(stream: Stream, type: string = EVENT_TYPES[stream]): Message {
  const messages = Object.values(doc.channels[stream]!.messages).map((ref) => resolve(ref.$ref) as Message)
  expect(messages.map((message) => message.name).sort()).toEqual(
    eventsOf(stream)
      .map((event) => event.type)
      .sort(),
  )
  return messages.find((message) => message.name === type)!
}

describe('docs/asyncapi.yaml', () => {
  it('is an AsyncAPI 3.0 document whose version follows the events’ schema version', () => {
    expect(doc.asyncapi).toBe('3.0.0')
    expect(doc.info.title).not.toBe('')
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/)
    for (const stream of STREAMS) for (const event of eventsOf(stream)) expect(Number(doc.info.version.split('.')[0]), event.type).toBe(event.version)
  })

  it('names the brokers by KAFKA_BROKERS, never a real host', () => {
    const servers = Object.values(doc.servers)
    expect(servers).toHaveLength(1)
    const [server] = servers
    expect(server!.protocol).toBe('kafka')
    expect(server!.host).toBe('{brokers}')
    expect(server!.variables?.brokers?.description).toContain('KAFKA_BROKERS')
    expect(server!.description).toContain('KAFKA_BROKERS')
  })

  it('has one channel per stream, at the default topic, naming the variable that overrides it', () => {
    expect(Object.keys(doc.channels).sort()).toEqual([...STREAMS].sort())
    for (const stream of STREAMS) {
      expect(doc.channels[stream]!.address).toBe(DEFAULT_TOPICS[stream])
      expect(doc.channels[stream]!.description).toContain(TOPIC_ENV[stream])
    }
  })

  it('has Ficus send on every channel, and every reference resolves', () => {
    const sent = Object.values(doc.operations).map((operation) => {
      expect(operation.action).toBe('send')
      resolve(operation.channel.$ref)
      for (const message of operation.messages) {
        expect(message.$ref.startsWith(`${operation.channel.$ref}/messages/`)).toBe(true)
        resolve(message.$ref)
      }
      return operation.channel.$ref
    })
    expect(sent.sort()).toEqual(STREAMS.map((stream) => `#/channels/${stream}`).sort())
    for (const [, ref] of text.matchAll(/\$ref: '?(#[^'\n]+)'?/g)) resolve(ref!)
  })

  it('gives each message the headers eventHeaders sets, with their fixed values', () => {
    for (const stream of STREAMS)
      for (const event of eventsOf(stream)) {
        const message = messageOf(stream, event.type)
        const eventId = '5c0b0a4e-8a51-4f43-9f55-6f1f0c8f2a10'
        const headers = eventHeaders(event.type, event.version, eventId)
        expect(message.name).toBe(event.type)
        expect(message.contentType).toBe(headers['content-type'])
        expect(Object.keys(message.headers.properties ?? {}).sort()).toEqual(Object.keys(headers).sort())
        expect([...(message.headers.required ?? [])].sort()).toEqual(Object.keys(headers).sort())
        for (const [name, value] of Object.entries(headers)) {
          const header = message.headers.properties![name]!
          expect(header.type).toBe('string')
          if (name !== 'ficus-event-id') expect(header.const, name).toBe(value)
        }
      }
  })

  it('describes the message key', () => {
    // Keyed by entity by default, the request id when none, the slice id on request (issue 19).
    expect(messageOf('comparisons').bindings.kafka.key.description).toMatch(/entity key[\s\S]*request id[\s\S]*slice id/)
    expect(messageOf('authority-changes').bindings.kafka.key.description).toMatch(/slice id/)
    expect(messageOf('triage-actions').bindings.kafka.key.description).toMatch(/signature id/)
    expect(messageOf('comparisons', SHADOW_SKIPS_EVENT_TYPE).bindings.kafka.key.description).toMatch(/slice id/)
    for (const stream of STREAMS) for (const event of eventsOf(stream)) expect(messageOf(stream, event.type).bindings.kafka.key.type).toBe('string')
  })

  it('takes each payload from the published JSON Schema file of its event, in the dialect the file declares', () => {
    for (const stream of STREAMS)
      for (const event of eventsOf(stream)) {
        const { payload } = messageOf(stream, event.type)
        const file = new URL(payload.schema.$ref, DOCS)
        expect(existsSync(file), payload.schema.$ref).toBe(true)
        const schema = JSON.parse(readFileSync(file, 'utf8')) as { $schema: string; properties: { eventType: Schema; schemaVersion: Schema } }
        expect(schema.$schema).toBe(JSON_SCHEMA_DIALECT)
        const draft = /draft\/(\d{4}-\d{2})\/schema$/.exec(schema.$schema)?.[1]
        expect(payload.schemaFormat).toBe(`application/schema+json;version=draft-${draft}`)
        expect(schema.properties.eventType.const).toBe(event.type)
        expect(schema.properties.schemaVersion.const).toBe(event.version)
      }
  })
})
