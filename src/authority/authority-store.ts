import { parseAuthority, type Authority } from '../model/authority-value.ts'
import { fail, type FicusError } from '../errors/errors.ts'

export type { Authority } from '../model/authority-value.ts'

/** The live authority of one slice, as the store holds it. */
export interface AuthorityState {
  readonly sliceId: string
  readonly authority: Authority
  /** 0 for the config's initial value; increases by one on every accepted change. */
  readonly version: number
  /** ISO time of the last change; null while the config's initial value is in force. */
  readonly updatedAt: string | null
  readonly actor: string | null
  readonly reason: string | null
  /** The gateway instance that accepted the last change. */
  readonly instance: string | null
  /**
   * Unique id of the change that made this state (null for the config's initial value). Two states
   * with one version and different ids are two different changes: the store's one wins.
   */
  readonly changeId?: string | null
  /** Redis only: the run_id of the Redis process that accepted the state (see redis-scripts.ts). */
  readonly runId?: string | null
}

/** A change as applied: the new state and the authority it replaced. */
export interface AppliedChange extends AuthorityState {
  readonly previous: Authority
  /** False when the slice already had the asked authority: nothing was written, audited or bumped. */
  readonly changed: boolean
}

/**
 * `flip` and `kill-switch` are an operator's changes; `reseed` and `restore` are the store's repair
 * after a fault: an empty store seeded back from an instance's snapshot, or a store that went back
 * to older data (a restart from an earlier save, a lagging replica) brought forward again.
 */
export const CHANGE_KINDS = ['flip', 'kill-switch', 'reseed', 'restore'] as const
export type ChangeKind = (typeof CHANGE_KINDS)[number]
/** The kinds of change an operator asks for (the others are the store's own repairs). */
export type OperatorChangeKind = Extract<ChangeKind, 'flip' | 'kill-switch'>

export interface SliceChange {
  readonly sliceId: string
  /** Checked by the store: anything that is not a valid authority is refused with a clear error. */
  readonly authority: unknown
  /** Compare-and-set: refuse the whole request unless the slice is still at this version. */
  readonly expectedVersion?: number
  /** The id the change gets (a fresh one when absent): known before the store is asked, so a crash can be recovered. */
  readonly changeId?: string
}

/** One or more changes applied together: all of them, or none. */
export interface ChangeRequest {
  readonly changes: readonly SliceChange[]
  readonly actor: string
  readonly reason: string
  readonly kind: OperatorChangeKind
  /** Made although the readiness guard said the slice was not ready. */
  readonly forced?: boolean
  /** The admin API request that asked for it (its id, in the gateway's log and the answer's x-request-id). */
  readonly requestId?: string
}

/** One accepted change, as the audit trail keeps it. */
export interface AuditEntry {
  readonly id: string
  readonly slice: string
  readonly previous: Authority
  readonly authority: Authority
  readonly version: number
  readonly actor: string
  readonly reason: string
  readonly at: string
  readonly instance: string
  readonly kind: ChangeKind
  readonly forced: boolean
  /** The id of the change (the state's `changeId`), when the store records it. */
  readonly changeId?: string
}

export interface HistoryQuery {
  readonly slice?: string
  /** Newest first, at most this many. */
  readonly limit: number
}

export interface StoreStatus {
  readonly kind: 'file' | 'redis'
  /** Whether changes can be made right now (the file store always can). */
  readonly connected: boolean
  /** Where the current snapshot came from: the store itself, a local cache, or the config. */
  readonly snapshot: 'store' | 'cache' | 'config'
}

/**
 * Holds the live authority of every slice. Reads are synchronous from an in-memory snapshot (the
 * request path never waits for the store); changes are durable before they are visible.
 */
export interface AuthorityStore {
  readonly kind: StoreStatus['kind']
  /** Loads the state; must resolve before the gateway takes traffic. */
  open(): Promise<void>
  /** Current authority of a slice, or undefined for a slice the config does not declare. */
  get(sliceId: string): AuthorityState | undefined
  list(): readonly AuthorityState[]
  /** Applies every change of the request durably and audited, or none. Throws a FicusError when refused. */
  apply(request: ChangeRequest): Promise<AppliedChange[]>
  history(query: HistoryQuery): Promise<AuditEntry[]>
  status(): StoreStatus
  /** Called after the snapshot of a slice changed, whoever made the change. Returns an unsubscribe. */
  onChange(listener: (state: AuthorityState) => void): () => void
  close(): Promise<void>
}

/** The snapshot a slice starts from when the store has nothing for it. */
export function initialState(sliceId: string, authority: Authority): AuthorityState {
  return { sliceId, authority, version: 0, updatedAt: null, actor: null, reason: null, instance: null, changeId: null }
}

/** Flips one slice: the common case of `apply`. */
export async function flip(
  store: AuthorityStore,
  sliceId: string,
  change: { authority: unknown; actor: string; reason: string; expectedVersion?: number },
): Promise<AppliedChange> {
  const [state] = await store.apply({
    changes: [{ sliceId, authority: change.authority, ...(change.expectedVersion === undefined ? {} : { expectedVersion: change.expectedVersion }) }],
    actor: change.actor,
    reason: change.reason,
    kind: 'flip',
  })
  if (!state) throw new Error('apply returned no state for a single change')
  return state
}

/** The longest actor or reason an audit entry keeps. */
export const MAX_TEXT_LENGTH = 500

export interface CheckedChange {
  readonly current: AuthorityState
  readonly authority: Authority
  readonly expectedVersion: number | undefined
  readonly changeId: string | undefined
}

/**
 * Checks a change request against the current snapshot; shared by every store so they refuse alike.
 * Throws FICUS_ERR_UNKNOWN_SLICE, FICUS_ERR_AUTHORITY_INVALID or (unless a store compares versions
 * itself, `versions: false`) FICUS_ERR_AUTHORITY_CONFLICT.
 */
export function checkRequest(
  request: ChangeRequest,
  lookup: (sliceId: string) => AuthorityState | undefined,
  options: { versions: boolean } = { versions: true },
): CheckedChange[] {
  checkAuditText(request)
  if (request.changes.length === 0) throw fail.authorityInvalid('changes: at least one slice must be named', { details: { field: 'changes' } })
  const seen = new Set<string>()
  return request.changes.map((change) => {
    const current = lookup(change.sliceId)
    if (!current) throw fail.unknownSlice(`unknown slice ${JSON.stringify(change.sliceId)}`, { details: { slice: change.sliceId } })
    if (seen.has(change.sliceId)) throw fail.authorityInvalid(`slice ${JSON.stringify(change.sliceId)} is named twice`, { details: { slice: change.sliceId } })
    seen.add(change.sliceId)
    const parsed = parseAuthority(change.authority)
    if (!parsed.ok) throw fail.authorityInvalid(`authority: ${parsed.error}`, { details: { slice: change.sliceId, field: 'authority' } })
    if (change.expectedVersion !== undefined) {
      if (!Number.isInteger(change.expectedVersion) || change.expectedVersion < 0) {
        throw fail.authorityInvalid(`expectedVersion: must be a whole number ≥ 0 (got ${JSON.stringify(change.expectedVersion)})`, {
          details: { slice: change.sliceId, field: 'expectedVersion' },
        })
      }
      if (options.versions && change.expectedVersion !== current.version) throw conflict(change.sliceId, current.version, change.expectedVersion)
    }
    return { current, authority: parsed.authority, expectedVersion: change.expectedVersion, changeId: change.changeId }
  })
}

/** Every change names who made it and why: both required, bounded texts. */
export function checkAuditText(request: Pick<ChangeRequest, 'actor' | 'reason'>): void {
  for (const field of ['actor', 'reason'] as const) {
    const value: unknown = request[field]
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_TEXT_LENGTH) {
      throw fail.authorityInvalid(`${field}: is required, a non-empty text of at most ${MAX_TEXT_LENGTH} characters`, { details: { field } })
    }
  }
}

export function conflict(sliceId: string, version: number, expectedVersion: number): FicusError {
  return fail.authorityConflict(
    `slice ${JSON.stringify(sliceId)} is at version ${version}, not ${expectedVersion}: someone else changed it; re-read and retry`,
    { details: { slice: sliceId, version, expectedVersion } },
  )
}

/** A small listener registry for `onChange`. */
export class ChangeListeners {
  readonly #listeners = new Set<(state: AuthorityState) => void>()

  add(listener: (state: AuthorityState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  emit(state: AuthorityState): void {
    for (const listener of this.#listeners) listener(state)
  }
}
