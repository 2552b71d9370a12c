import { randomUUID } from 'node:crypto'
import type { AppliedChange } from '../authority/authority-store.ts'
import { COMPARISON_EVENT_TYPE, COMPARISON_SCHEMA_VERSION } from '../compare/comparison.ts'

/** The two event streams Ficus publishes. */
export const STREAMS = ['comparisons', 'authority-changes'] as const
export type Stream = (typeof STREAMS)[number]

export const DEFAULT_TOPICS: Readonly<Record<Stream, string>> = {
  comparisons: 'ficus.comparisons.v1',
  'authority-changes': 'ficus.authority-changes.v1',
}

export const AUTHORITY_CHANGED_EVENT_TYPE = 'ficus.authority-changed'
export const AUTHORITY_CHANGED_SCHEMA_VERSION = 1

/** Published for every accepted authority change, by the instance that accepted it. */
export interface AuthorityChanged {
  readonly schemaVersion: typeof AUTHORITY_CHANGED_SCHEMA_VERSION
  readonly eventType: typeof AUTHORITY_CHANGED_EVENT_TYPE
  readonly eventId: string
  /** When the change was accepted. */
  readonly eventTime: string
  readonly slice: string
  readonly before: string
  readonly after: string
  readonly version: number
  readonly actor: string
  readonly reason: string
  readonly kind: 'flip' | 'kill-switch'
  /** The change was made against a "not ready" readiness verdict (`force`). */
  readonly forced: boolean
  readonly instance: string
  readonly configVersion: string
}

export function authorityChanged(change: AppliedChange, kind: AuthorityChanged['kind'], configVersion: string, forced = false): AuthorityChanged {
  return {
    schemaVersion: AUTHORITY_CHANGED_SCHEMA_VERSION,
    eventType: AUTHORITY_CHANGED_EVENT_TYPE,
    // The change's id: an event published again after a crash carries the same one.
    eventId: change.changeId ?? randomUUID(),
    eventTime: change.updatedAt ?? new Date().toISOString(),
    slice: change.sliceId,
    before: change.previous,
    after: change.authority,
    version: change.version,
    actor: change.actor ?? '',
    reason: change.reason ?? '',
    kind,
    forced,
    instance: change.instance ?? '',
    configVersion,
  }
}

/** Message headers every published event carries. */
export function eventHeaders(eventType: string, schemaVersion: number, eventId: string): Record<string, string> {
  return { 'ficus-event-type': eventType, 'ficus-schema-version': String(schemaVersion), 'ficus-event-id': eventId, 'content-type': 'application/json' }
}

export const EVENT_TYPES = { comparisons: COMPARISON_EVENT_TYPE, 'authority-changes': AUTHORITY_CHANGED_EVENT_TYPE } as const
export const SCHEMA_VERSIONS = { comparisons: COMPARISON_SCHEMA_VERSION, 'authority-changes': AUTHORITY_CHANGED_SCHEMA_VERSION } as const
