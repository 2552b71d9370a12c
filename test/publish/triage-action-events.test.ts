import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { DEFAULT_EVENT_DURABILITY } from '../../src/publish/event-durability.ts'
import { TRIAGE_ACTION_STATES, TRIAGE_EVENT_FAMILIES, TRIAGE_EVENT_STATES, triageActionEvent, type TriageActionEvent } from '../../src/publish/events.ts'
import { openEventSinks, TRIAGE_ACTIONS_DIR, type EventSinks } from '../../src/publish/open-sinks.ts'
import { TriageActionSchema } from '../../src/publish/triage-action-schema.ts'
import { REGISTERED_FAMILIES, type DiscrepancySignature } from '../../src/register/discrepancy-signature.ts'
import { TRIAGE_ACTIONS, TRIAGE_STATES, type TriageRecord } from '../../src/register/triage.ts'
import { publishedSchema, schemaErrors } from '../helpers/json-schema.ts'
import { capturingLogger } from '../helpers/logs.ts'

const SIGNATURE: Pick<DiscrepancySignature, 'id' | 'slice' | 'route' | 'family'> = {
  id: '3f9a1c0b7d2e4a65',
  slice: 'coverage-status',
  route: 'GET /pas/v1/policy/:policyNumber/status',
  family: 'genuine-conflict',
}

/** A record as the register's triage store writes it. */
const record = (fields: Partial<TriageRecord> = {}): TriageRecord => ({
  id: '0f8e1c52-3b7a-4d1e-9a64-2c5d8e7f1b30',
  signature: SIGNATURE.id,
  action: 'accept',
  actor: 'ana@platform',
  reason: 'modern rounds to the cent on purpose',
  at: '2026-11-24T09:12:00.000Z',
  instance: 'gw-1',
  approver: 'product-owner',
  expiresAt: '2027-03-31',
  ...fields,
})

const publishedTriageAction = publishedSchema('triage-action.schema.json')

describe('triageActionEvent', () => {
  it('publishes exactly the vocabulary of the register (publish keeps a copy: it may not import register)', () => {
    expect(TRIAGE_ACTION_STATES).toEqual(TRIAGE_ACTIONS)
    expect([...TRIAGE_EVENT_STATES]).toEqual([...TRIAGE_STATES])
    expect([...TRIAGE_EVENT_FAMILIES]).toEqual([...REGISTERED_FAMILIES])
  })

  it('builds the event of an action: its id and time, the signature, the state it leads to, the fields it has', () => {
    expect(triageActionEvent(record(), SIGNATURE, 'c1d2e3f4-0000-4000-8000-000000000001')).toEqual({
      schemaVersion: 1,
      eventType: 'ficus.triage-action',
      eventId: '0f8e1c52-3b7a-4d1e-9a64-2c5d8e7f1b30',
      eventTime: '2026-11-24T09:12:00.000Z',
      signature: '3f9a1c0b7d2e4a65',
      slice: 'coverage-status',
      route: 'GET /pas/v1/policy/:policyNumber/status',
      family: 'genuine-conflict',
      action: 'accept',
      state: 'accepted',
      actor: 'ana@platform',
      reason: 'modern rounds to the cent on purpose',
      approver: 'product-owner',
      expiresAt: '2027-03-31',
      instance: 'gw-1',
      requestId: 'c1d2e3f4-0000-4000-8000-000000000001',
    })
    const reopen = triageActionEvent(record({ action: 'reopen', approver: undefined, expiresAt: undefined }), SIGNATURE)
    expect(reopen.state).toBe('open')
    expect(Object.keys(reopen)).not.toContain('approver')
    expect(Object.keys(reopen)).not.toContain('expiresAt')
  })

  it('gives every action an event valid against its own closed schema and the published one', () => {
    const extras: Partial<Record<keyof typeof TRIAGE_ACTIONS, Partial<TriageRecord>>> = {
      assign: { assignee: 'bo' },
      'expect-fix': { rulesHash: 'sha256:0b661527ca7e0b66' },
      'mark-modern-defect': { ticket: 'MOD-12' },
      'mark-legacy-data-defect': { ticket: 'LEG-7' },
    }
    for (const action of Object.keys(TRIAGE_ACTIONS) as (keyof typeof TRIAGE_ACTIONS)[]) {
      const event = triageActionEvent(record({ action, approver: undefined, expiresAt: undefined, ...extras[action] }), SIGNATURE)
      expect(event.state, action).toBe(TRIAGE_ACTIONS[action])
      expect(schemaErrors(TriageActionSchema, event), action).toEqual([])
      expect(schemaErrors(publishedTriageAction, event), action).toEqual([])
    }
  })
})

describe('the triage-actions stream, JSON lines (no KAFKA_BROKERS)', () => {
  let dir: string
  let sinks: EventSinks | undefined

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-triage-events-'))
  })
  afterEach(async () => {
    await sinks?.close(1_000)
    sinks = undefined
    await rm(dir, { recursive: true, force: true })
  })

  const open = (): Promise<EventSinks> =>
    openEventSinks({
      kafka: undefined,
      dataDir: dir,
      config: validateConfig({
        sides: { legacy: 'legacy', modern: 'modern' },
        upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
        slices: { 'coverage-status': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/coverage/:id' }] } },
      }),
      logger: capturingLogger().logger,
      durability: DEFAULT_EVENT_DURABILITY,
    })

  it('writes a triage action durably to triage-actions/triage-actions.jsonl, valid against docs/triage-action.schema.json, and counts it', async () => {
    sinks = await open()
    const assign = triageActionEvent(record({ id: '6a4f2b10-9c3e-4e8d-b1a7-5d2c0e9f8a41', action: 'assign', assignee: 'bo' }), SIGNATURE)
    const accept = triageActionEvent(record(), SIGNATURE)
    await sinks.triageActions.writeDurable(assign)
    await sinks.triageActions.writeDurable(accept)
    // Durable: on disk when the write resolves, nothing left buffered.
    const file = join(dir, TRIAGE_ACTIONS_DIR, 'triage-actions.jsonl')
    const events = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as TriageActionEvent)
    expect(events).toEqual([assign, accept])
    for (const event of events) expect(schemaErrors(publishedTriageAction, event)).toEqual([])
    expect(sinks.triageActions.stats()).toMatchObject({ written: 2, buffered: 0, dropped: 0 })
    expect(sinks.counters()).toMatchObject({ written: 2, buffered: 0, dropped: 0, lost: 0 })
    // Its own stream: neither of the other two streams' files has it.
    expect(await readdir(join(dir, 'authority-changes'))).not.toContain('triage-actions.jsonl')
    expect(await readdir(join(dir, 'comparisons'))).not.toContain('triage-actions.jsonl')
  })

  it('closes the triage-actions sink with the others', async () => {
    const opened = await open()
    await opened.close(1_000)
    await expect(opened.triageActions.writeDurable(triageActionEvent(record(), SIGNATURE))).rejects.toMatchObject({ code: 'FICUS_ERR_EVENT_SINK_UNAVAILABLE' })
  })
})
