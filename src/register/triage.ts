import type { DiscrepancyEntry } from './discrepancy-register.ts'

/** Where a signature stands in a team's triage. */
export const TRIAGE_STATES = ['open', 'investigating', 'accepted', 'fix-expected', 'modern-defect', 'legacy-data-defect', 'wont-fix'] as const
export type TriageState = (typeof TRIAGE_STATES)[number]

/** What a person can do to a signature, and the state each action leads to. */
export const TRIAGE_ACTIONS = {
  assign: 'investigating',
  accept: 'accepted',
  'expect-fix': 'fix-expected',
  'mark-modern-defect': 'modern-defect',
  'mark-legacy-data-defect': 'legacy-data-defect',
  'wont-fix': 'wont-fix',
  reopen: 'open',
} as const satisfies Record<string, TriageState>
export type TriageAction = keyof typeof TRIAGE_ACTIONS

/** One audited action on one signature. */
export interface TriageRecord {
  readonly id: string
  readonly signature: string
  readonly action: TriageAction
  readonly actor: string
  readonly reason: string
  readonly at: string
  readonly instance: string
  /** assign: who investigates. */
  readonly assignee?: string
  /** accept: who approved the difference as intended, and until when (ISO date or time). */
  readonly approver?: string
  readonly expiresAt?: string
  /** mark-modern-defect, mark-legacy-data-defect: the ticket that tracks the fix. */
  readonly ticket?: string
  /** expect-fix: the rules hash in force when the fix was promised; recurring under another one is a regression. */
  readonly rulesHash?: string
}

/** A signature's triage as the last action left it. */
export interface TriageStatus {
  readonly state: TriageState
  readonly since: string | null
  readonly actor: string | null
  readonly reason: string | null
  readonly assignee: string | null
  readonly approver: string | null
  readonly expiresAt: string | null
  readonly ticket: string | null
  readonly rulesHash: string | null
}

/** The triage of a signature as it stands now: an expired acceptance and a recurring fix both reopen it. */
export interface TriageView extends TriageStatus {
  /** `accepted` whose expiry has passed: open again. */
  readonly expired: boolean
  /** `fix-expected` that recurred under different rules after the fix was promised: open again. */
  readonly regression: boolean
}

export const UNTRIAGED: TriageStatus = {
  state: 'open',
  since: null,
  actor: null,
  reason: null,
  assignee: null,
  approver: null,
  expiresAt: null,
  ticket: null,
  rulesHash: null,
}

/** The status an action leaves. Pure. */
export function applyAction(previous: TriageStatus, record: TriageRecord): TriageStatus {
  const state = TRIAGE_ACTIONS[record.action]
  return {
    state,
    since: record.at,
    actor: record.actor,
    reason: record.reason,
    // Who investigates stays named through the resolution, and is cleared by a reopen.
    assignee: record.action === 'assign' ? (record.assignee ?? null) : record.action === 'reopen' ? null : previous.assignee,
    approver: record.action === 'accept' ? (record.approver ?? null) : null,
    expiresAt: record.action === 'accept' ? (record.expiresAt ?? null) : null,
    ticket: state === 'modern-defect' || state === 'legacy-data-defect' ? (record.ticket ?? null) : null,
    rulesHash: record.action === 'expect-fix' ? (record.rulesHash ?? null) : null,
  }
}

/** The triage of an entry now: expiry and regressions applied. Pure. */
export function triageView(status: TriageStatus, entry: Pick<DiscrepancyEntry, 'rulesSeen'>, now: Date): TriageView {
  // An expiry that does not parse (a hand-edited log) has passed: an acceptance never lasts by accident.
  const expired = status.state === 'accepted' && status.expiresAt !== null && !(Date.parse(status.expiresAt) > now.getTime())
  // Seen, after the fix was promised, under rules other than the ones in force then: the fix did not hold.
  const since = status.since
  const regression =
    status.state === 'fix-expected' &&
    since !== null &&
    status.rulesHash !== null &&
    entry.rulesSeen.some((seen) => seen.rulesHash !== status.rulesHash && seen.lastSeen > since)
  return { ...status, state: expired || regression ? 'open' : status.state, expired, regression }
}
