import { randomUUID } from 'node:crypto'
import type { AppliedChange } from '../authority/authority-store.ts'
import { COMPARISON_EVENT_TYPE, COMPARISON_SCHEMA_VERSION } from '../compare/comparison.ts'

/** The three event streams Ficus publishes. */
export const STREAMS = ['comparisons', 'authority-changes', 'triage-actions'] as const
export type Stream = (typeof STREAMS)[number]

export const DEFAULT_TOPICS: Readonly<Record<Stream, string>> = {
  comparisons: 'ficus.comparisons.v1',
  'authority-changes': 'ficus.authority-changes.v1',
  'triage-actions': 'ficus.triage-actions.v1',
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
  /** Cause: the admin API request that made the change (the id in the gateway's log and its answer's x-request-id); null when none is known. */
  readonly requestId: string | null
}

export function authorityChanged(
  change: AppliedChange,
  kind: AuthorityChanged['kind'],
  configVersion: string,
  forced = false,
  requestId: string | null = null,
): AuthorityChanged {
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
    requestId,
  }
}

/** Message headers every published event carries. */
export function eventHeaders(eventType: string, schemaVersion: number, eventId: string): Record<string, string> {
  return { 'ficus-event-type': eventType, 'ficus-schema-version': String(schemaVersion), 'ficus-event-id': eventId, 'content-type': 'application/json' }
}

export const TRIAGE_ACTION_EVENT_TYPE = 'ficus.triage-action'
export const TRIAGE_ACTION_SCHEMA_VERSION = 1

/**
 * The triage vocabulary of the discrepancy register (src/register/triage.ts: TRIAGE_ACTIONS,
 * TRIAGE_STATES; src/register/discrepancy-signature.ts: REGISTERED_FAMILIES), copied here because
 * publish sits below register and may not import it. Both directions are checked: a TriageRecord
 * or signature with a value not listed here does not compile as this builder's input, and
 * test/publish/triage-action-events.test.ts compares the tables. A value added there is added here
 * in the same change (an additive change of v1).
 */
export const TRIAGE_EVENT_FAMILIES = ['genuine-conflict', 'translation-defect', 'source-data-defect', 'missing-identity'] as const
export type TriageFamilyName = (typeof TRIAGE_EVENT_FAMILIES)[number]
export const TRIAGE_EVENT_STATES = ['open', 'investigating', 'accepted', 'fix-expected', 'modern-defect', 'legacy-data-defect', 'wont-fix'] as const
export type TriageStateName = (typeof TRIAGE_EVENT_STATES)[number]
/** Each action and the state it leads to. */
export const TRIAGE_ACTION_STATES = {
  assign: 'investigating',
  accept: 'accepted',
  'expect-fix': 'fix-expected',
  'mark-modern-defect': 'modern-defect',
  'mark-legacy-data-defect': 'legacy-data-defect',
  'wont-fix': 'wont-fix',
  reopen: 'open',
} as const satisfies Record<string, TriageStateName>
export type TriageActionName = keyof typeof TRIAGE_ACTION_STATES

/** One audited triage action, as the register records it (structurally its `TriageRecord`). */
export interface TriageActionInput {
  readonly id: string
  readonly signature: string
  readonly action: TriageActionName
  readonly actor: string
  readonly reason: string
  readonly at: string
  readonly instance: string
  readonly assignee?: string
  readonly approver?: string
  readonly expiresAt?: string
  readonly ticket?: string
  readonly rulesHash?: string
}

/** Published for every triage action on a signature of the discrepancy register, by the instance that recorded it. */
export interface TriageActionEvent {
  readonly schemaVersion: typeof TRIAGE_ACTION_SCHEMA_VERSION
  readonly eventType: typeof TRIAGE_ACTION_EVENT_TYPE
  /** The action's id: an event published again carries the same one. */
  readonly eventId: string
  /** When the action was recorded. */
  readonly eventTime: string
  /** The signature's id (also the Kafka key). */
  readonly signature: string
  readonly slice: string
  readonly route: string
  readonly family: TriageFamilyName
  readonly action: TriageActionName
  /** The state the action leads to. */
  readonly state: TriageStateName
  readonly actor: string
  readonly reason: string
  readonly assignee?: string
  readonly approver?: string
  readonly expiresAt?: string
  readonly ticket?: string
  readonly rulesHash?: string
  readonly instance: string
  /** Cause: the admin API request that recorded the action (the id in the gateway's log and its answer's x-request-id); null when none is known. */
  readonly requestId: string | null
}

/** The event of one triage action on a signature. Pure: the same action gives the same event. */
export function triageActionEvent(
  record: TriageActionInput,
  signature: { readonly slice: string; readonly route: string; readonly family: TriageFamilyName },
  requestId: string | null = null,
): TriageActionEvent {
  return {
    schemaVersion: TRIAGE_ACTION_SCHEMA_VERSION,
    eventType: TRIAGE_ACTION_EVENT_TYPE,
    eventId: record.id,
    eventTime: record.at,
    signature: record.signature,
    slice: signature.slice,
    route: signature.route,
    family: signature.family,
    action: record.action,
    state: TRIAGE_ACTION_STATES[record.action],
    actor: record.actor,
    reason: record.reason,
    // Only the fields the action has: an `assign` carries an assignee, an `accept` an approver and expiry…
    ...(record.assignee === undefined ? {} : { assignee: record.assignee }),
    ...(record.approver === undefined ? {} : { approver: record.approver }),
    ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
    ...(record.ticket === undefined ? {} : { ticket: record.ticket }),
    ...(record.rulesHash === undefined ? {} : { rulesHash: record.rulesHash }),
    instance: record.instance,
    requestId,
  }
}

export const EVENT_TYPES = {
  comparisons: COMPARISON_EVENT_TYPE,
  'authority-changes': AUTHORITY_CHANGED_EVENT_TYPE,
  'triage-actions': TRIAGE_ACTION_EVENT_TYPE,
} as const
export const SCHEMA_VERSIONS = {
  comparisons: COMPARISON_SCHEMA_VERSION,
  'authority-changes': AUTHORITY_CHANGED_SCHEMA_VERSION,
  'triage-actions': TRIAGE_ACTION_SCHEMA_VERSION,
} as const
