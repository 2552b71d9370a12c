import type { Side } from '../config/schema.ts'
import { SIDES } from '../config/schema.ts'
import { FicusError } from '../errors.ts'

/** Who answers a slice. A percentage rollout joins this union with the live-authority work. */
export type Authority = Side

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
}

export interface AuthorityChange {
  readonly authority: Authority
  readonly actor: string
  readonly reason: string
  /** Compare-and-set: refuse the change unless the slice is still at this version. */
  readonly expectedVersion?: number
}

/**
 * Holds the live authority of every slice. Reads are synchronous from an in-memory snapshot (the
 * request path never waits for the store); changes are durable before they are visible.
 */
export interface AuthorityStore {
  readonly kind: string
  /** Loads the persisted state; must resolve before the gateway takes traffic. */
  open(): Promise<void>
  /** Current authority of a slice, or undefined for a slice the config does not declare. */
  get(sliceId: string): AuthorityState | undefined
  list(): readonly AuthorityState[]
  /** Applies a change durably, then to the snapshot. Throws a FicusError when refused. */
  set(sliceId: string, change: AuthorityChange): Promise<AuthorityState>
  close(): Promise<void>
}

/** The snapshot a slice starts from when the store has nothing for it. */
export function initialState(sliceId: string, authority: Authority): AuthorityState {
  return { sliceId, authority, version: 0, updatedAt: null, actor: null, reason: null, instance: null }
}

const MAX_TEXT_LENGTH = 500

/**
 * Checks a change against the current state; shared by every store so they refuse alike.
 * Throws FICUS_ERR_UNKNOWN_SLICE, FICUS_ERR_AUTHORITY_INVALID or FICUS_ERR_AUTHORITY_CONFLICT.
 */
export function checkChange(sliceId: string, current: AuthorityState | undefined, change: AuthorityChange): AuthorityState {
  if (!current) throw new FicusError('FICUS_ERR_UNKNOWN_SLICE', `unknown slice ${JSON.stringify(sliceId)}`, { details: { slice: sliceId } })
  if (!(SIDES as readonly unknown[]).includes(change.authority)) {
    throw new FicusError('FICUS_ERR_AUTHORITY_INVALID', `authority must be one of ${SIDES.map((side) => `"${side}"`).join(', ')} (got ${JSON.stringify(change.authority)})`, {
      details: { slice: sliceId, field: 'authority' },
    })
  }
  for (const field of ['actor', 'reason'] as const) {
    const value: unknown = change[field]
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_TEXT_LENGTH) {
      throw new FicusError('FICUS_ERR_AUTHORITY_INVALID', `${field} is required: a non-empty text of at most ${MAX_TEXT_LENGTH} characters`, {
        details: { slice: sliceId, field },
      })
    }
  }
  if (change.expectedVersion !== undefined && change.expectedVersion !== current.version) {
    throw new FicusError(
      'FICUS_ERR_AUTHORITY_CONFLICT',
      `slice ${JSON.stringify(sliceId)} is at version ${current.version}, not ${change.expectedVersion}: someone else changed it; re-read and retry`,
      { details: { slice: sliceId, version: current.version, expectedVersion: change.expectedVersion } },
    )
  }
  return current
}
