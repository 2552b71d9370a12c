import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { EventSink } from '../publish/event-sink.ts'
import { triageActionEvent, type TriageActionEvent } from '../publish/events.ts'
import { checkAuditText } from '../authority/authority-store.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { DEFAULT_MAX_SIGNATURES, type DiscrepancyEntry, type DiscrepancyRegister } from '../register/discrepancy-register.ts'
import type { RegisteredFamily } from '../register/discrepancy-signature.ts'
import type { TriageStore } from '../register/triage-store.ts'
import { triageView, UNTRIAGED, type TriageAction, type TriageState, type TriageView } from '../register/triage.ts'
import { DEFAULT_HISTORY_LIMIT, DiscrepancyBacklogQuery, DiscrepancyListQuery, TriageBody, TriageHistoryQuery } from './admin-schemas.ts'
import { triageBacklog } from './triage-backlog.ts'

/** How long one reading of the whole register serves the backlog (every dashboard polls it). */
export const BACKLOG_CACHE_MS = 10_000

export interface DiscrepancyRouteDeps {
  readonly register: Pick<DiscrepancyRegister, 'list' | 'get' | 'stats'>
  readonly triage: TriageStore
  /** Checks the `slice` query parameter (a 404 for a repeated or unknown one), before the schema. */
  readonly knownSliceParameter: (request: FastifyRequest<{ Querystring: { slice?: unknown } }>) => Promise<void>
  /** Who the audit names when the body does not. */
  readonly actorOf: (request: FastifyRequest, actor: string | undefined) => string
  /** The team that owns a slice's decision: new signatures are assigned to it until someone acts. */
  readonly ownerOf: (slice: string) => string | null
  /** The rules hash of a slice's config, as comparisons carry it. */
  readonly rulesOf: (slice: string) => string | undefined
  /** Where triage actions are published (their own topic, or JSON lines). */
  readonly events: Pick<EventSink<TriageActionEvent>, 'writeDurable'>
}

/** A register entry with its slice's decision owner and its triage as it stands now. */
export type TriagedEntry = DiscrepancyEntry & { readonly owner: string | null; readonly triage: TriageView }

/**
 * The discrepancy register and its triage on the admin API: the signatures (filtered by slice,
 * family and triage state), the backlog per slice and family, one signature, its action history,
 * and the actions a team takes.
 */
export function registerDiscrepancyRoutes(admin: FastifyInstance, deps: DiscrepancyRouteDeps): void {
  const triaged = async (entries: readonly DiscrepancyEntry[], now = new Date()): Promise<TriagedEntry[]> => {
    const statuses = await deps.triage.statuses(entries.map((entry) => entry.id))
    return entries.map((entry) => {
      const owner = deps.ownerOf(entry.slice)
      const status = statuses.get(entry.id) ?? UNTRIAGED
      // Untriaged, a signature is the owner's to look at.
      return { ...entry, owner, triage: triageView(status.since === null ? { ...status, assignee: owner } : status, entry, now) }
    })
  }
  const triagedOne = async (entry: DiscrepancyEntry): Promise<TriagedEntry> => (await triaged([entry]))[0] as TriagedEntry
  const entryOr404 = async (id: string): Promise<DiscrepancyEntry> => {
    const entry = await deps.register.get(id)
    if (!entry) throw fail.adminNotFound('no discrepancy with this id in the register (it may have been evicted to keep the register bounded)')
    return entry
  }

  admin.get<{ Querystring: DiscrepancyListQuery }>(
    '/discrepancies',
    { schema: { querystring: DiscrepancyListQuery }, preValidation: deps.knownSliceParameter },
    async (request) => {
      const {
        slice,
        family,
        state,
        limit = DEFAULT_HISTORY_LIMIT,
      } = request.query as { slice?: string; family?: RegisteredFamily; state?: TriageState; limit?: number }
      // A state filter looks through the whole register (it is bounded), the others stop at the limit.
      const found = await deps.register.list({
        ...(slice === undefined ? {} : { slice }),
        ...(family === undefined ? {} : { family }),
        limit: state === undefined ? limit : DEFAULT_MAX_SIGNATURES,
      })
      const entries = (await triaged(found)).filter((entry) => state === undefined || entry.triage.state === state)
      return { register: deps.register.stats(), entries: entries.slice(0, limit) }
    },
  )

  // Over the whole register (bounded by DEFAULT_MAX_SIGNATURES), not one page of it: a backlog that stops at a limit would hide its oldest items.
  // Reading it all is heavy (thousands of signatures): one reading serves every dashboard for BACKLOG_CACHE_MS.
  let backlog: { at: Date; entries: Promise<TriagedEntry[]> } | undefined
  const wholeRegister = (): { at: Date; entries: Promise<TriagedEntry[]> } => {
    const now = new Date()
    if (backlog && now.getTime() - backlog.at.getTime() < BACKLOG_CACHE_MS) return backlog
    const at = now
    const entries = deps.register.list({ limit: DEFAULT_MAX_SIGNATURES }).then((found) => triaged(found, at))
    // A failed reading is not kept: the next request asks again.
    entries.catch(() => {
      if (backlog?.entries === entries) backlog = undefined
    })
    backlog = { at, entries }
    return backlog
  }
  admin.get<{ Querystring: DiscrepancyBacklogQuery }>(
    '/discrepancies/backlog',
    { schema: { querystring: DiscrepancyBacklogQuery }, preValidation: deps.knownSliceParameter },
    async (request) => {
      const { slice, family } = request.query as { slice?: string; family?: RegisteredFamily }
      const { at, entries } = wholeRegister()
      const chosen = (await entries).filter((entry) => (slice === undefined || entry.slice === slice) && (family === undefined || entry.family === family))
      return { at: at.toISOString(), register: deps.register.stats(), rows: triageBacklog(chosen, at) }
    },
  )

  admin.get<{ Params: { id: string } }>('/discrepancies/:id', async (request) => triagedOne(await entryOr404(request.params.id)))

  admin.get<{ Params: { id: string }; Querystring: TriageHistoryQuery }>(
    '/discrepancies/:id/history',
    { schema: { querystring: TriageHistoryQuery } },
    async (request) => {
      const entries = await deps.triage.history({ signature: request.params.id, limit: request.query.limit ?? DEFAULT_HISTORY_LIMIT })
      // A signature dropped from the bounded register keeps its history.
      if (entries.length === 0) await entryOr404(request.params.id)
      return { entries }
    },
  )

  admin.post<{ Params: { id: string }; Body: TriageBody }>('/discrepancies/:id/triage', { schema: { body: TriageBody } }, async (request) => {
    const entry = await entryOr404(request.params.id)
    const { action, reason, actor, assignee, approver, expiresAt, ticket } = request.body
    const who = deps.actorOf(request, actor)
    checkTriageAction(action, { reason, actor: who, assignee, approver, expiresAt, ticket })
    const record = await deps.triage.act({
      signature: entry.id,
      action,
      actor: who,
      reason,
      ...(action === 'assign' ? { assignee } : {}),
      ...(action === 'accept' ? { approver, expiresAt: expiryInstant(expiresAt as string) } : {}),
      ...(action === 'mark-modern-defect' || action === 'mark-legacy-data-defect' ? { ticket } : {}),
      // The rules in force for the slice now (this instance's config); the fix is expected under later ones.
      ...(action === 'expect-fix' ? { rulesHash: deps.rulesOf(entry.slice) ?? entry.rulesHashes.at(-1) } : {}),
    })
    request.log.info({ signature: entry.id, slice: entry.slice, action: record.action, actor: record.actor }, 'triage action')
    // The action stands once recorded; its event is then made durable, and the answer says if it could not be.
    const event = await deps.events.writeDurable(triageActionEvent(record, entry, request.id)).then(
      () => ({ published: true }),
      (err: unknown) => {
        request.log.error({ err, signature: entry.id, action: record.id }, 'triage action recorded, but its event could not be made durable')
        return { published: false, reason: 'the event could not be made durable (the gateway log says why); the action itself is recorded' }
      },
    )
    // The backlog reflects an action at once, not after the cache runs out.
    backlog = undefined
    return { action: record, discrepancy: await triagedOne(entry), event }
  })
}

interface ActionFields {
  readonly reason: string
  readonly actor: string
  readonly assignee: string | undefined
  readonly approver: string | undefined
  readonly expiresAt: string | undefined
  readonly ticket: string | undefined
}

/** What each action needs besides a reason: an assignee, an approver and a future expiry, a ticket. */
function checkTriageAction(action: TriageAction, fields: ActionFields): void {
  try {
    checkAuditText(fields)
  } catch (err) {
    throw fail.decisionInvalid((err as Error).message, { details: (err as FicusError).details })
  }
  const missing = (field: string, what: string): FicusError => fail.decisionInvalid(`${field}: is required to ${action}, ${what}`, { details: { field } })
  if (action === 'assign' && !nonEmpty(fields.assignee)) throw missing('assignee', 'who investigates')
  if (action === 'accept') {
    if (!nonEmpty(fields.approver)) throw missing('approver', 'who approved the difference as intended')
    if (fields.expiresAt === undefined) throw missing('expiresAt', EXPIRY_FORMS)
    if (expiryInstant(fields.expiresAt) === undefined) throw fail.decisionInvalid(`expiresAt: must be ${EXPIRY_FORMS}`, { details: { field: 'expiresAt' } })
    if ((expiryInstant(fields.expiresAt) as string) <= new Date().toISOString())
      throw fail.decisionInvalid('expiresAt: must be in the future', { details: { field: 'expiresAt' } })
  }
  if ((action === 'mark-modern-defect' || action === 'mark-legacy-data-defect') && !nonEmpty(fields.ticket))
    throw missing('ticket', 'the reference of the ticket that tracks the fix')
}

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value.trim() !== ''

const EXPIRY_FORMS = 'a date YYYY-MM-DD (accepted through the end of that day, UTC) or an ISO 8601 time with its zone (2026-12-31T18:00:00Z)'
const LAST_EXPIRY = Date.parse('9999-12-31T00:00:00Z')
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/

/** The instant an acceptance ends, as an ISO time; undefined for anything but the two documented forms of a real date. */
export function expiryInstant(text: string): string | undefined {
  const date = DATE.exec(text)?.[0] ?? TIME.exec(text)?.[1]
  const midnight = date === undefined ? Number.NaN : Date.parse(`${date}T00:00:00Z`)
  // 2026-02-30 parses as 2 March: only a date that reads back the same is real.
  if (!Number.isFinite(midnight) || new Date(midnight).toISOString().slice(0, 10) !== date) return undefined
  const instant = DATE.test(text) ? midnight + 86_400_000 : Date.parse(text)
  // Four-digit years only, so that every expiry reads back in the same form (no "+010000-…").
  return Number.isFinite(instant) && instant < LAST_EXPIRY ? new Date(instant).toISOString() : undefined
}
