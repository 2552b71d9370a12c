import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { Authority } from '../model/authority-value.ts'
import { fail } from '../errors/errors.ts'
import { appendAudit, readAudit, readAuthorityFile, writeAuthorityFile, type PersistedSlices } from './authority-file.ts'
import {
  ChangeListeners,
  checkRequest,
  initialState,
  type AuditEntry,
  type AppliedChange,
  type AuthorityState,
  type AuthorityStore,
  type ChangeRequest,
  type HistoryQuery,
  type StoreStatus,
} from './authority-store.ts'

export interface FileAuthorityStoreOptions {
  /** The JSON file the state lives in, e.g. `data/authority.json`. */
  readonly file: string
  /** The JSON-lines audit trail, e.g. `data/audit.jsonl`. */
  readonly auditFile: string
  /** Every slice the config declares, with its initial authority. */
  readonly slices: readonly { readonly id: string; readonly authority: Authority }[]
  /** Recorded as the instance that accepted a change. */
  readonly instance: string
  readonly now?: () => Date
  readonly logger?: Logger
  /**
   * A worker of `ficus start --workers` other than the first: reads the files the first worker
   * writes and never writes them (apply refuses). It reads them again when `refresh` is called (the
   * first worker's notice of a change) and at least every `followIntervalMs`, should a notice be lost.
   */
  readonly follower?: boolean
  readonly followIntervalMs?: number
}

/** How often a follower looks at the audit file for a change it was not told of. */
export const DEFAULT_FOLLOW_INTERVAL_MS = 1_000

/**
 * The embedded-default store: one process, state kept in the data directory so a restart keeps a
 * flip. The audit file is the commit log: a change is accepted once its audit line is flushed to
 * disk, and not before. `authority.json` is a snapshot of the result, replaced atomically after
 * each change; on open, audited changes the snapshot missed (a crash or a failed snapshot write
 * between the two) are applied on top of it.
 */
export class FileAuthorityStore implements AuthorityStore {
  readonly kind = 'file'
  readonly #options: FileAuthorityStoreOptions
  readonly #states = new Map<string, AuthorityState>()
  readonly #listeners = new ChangeListeners()
  /** Entries for slices the current config no longer declares: kept, so nothing is lost. */
  #retired: PersistedSlices = {}
  #writing: Promise<unknown> = Promise.resolve()
  #followTimer: NodeJS.Timeout | undefined
  /** The audit file's size and time when a follower last read it. */
  #seen = ''
  #refreshing: Promise<void> | undefined

  constructor(options: FileAuthorityStoreOptions) {
    this.#options = options
  }

  async open(): Promise<void> {
    this.#seen = await this.#auditStamp()
    const states = await this.#read()
    this.#states.clear()
    for (const [id, state] of states) this.#states.set(id, state)
    if (this.#options.follower === true) {
      this.#followTimer = setInterval(() => void this.refresh(), this.#options.followIntervalMs ?? DEFAULT_FOLLOW_INTERVAL_MS)
      this.#followTimer.unref()
    }
  }

  /**
   * A follower reads the files again and takes every newer state (its listeners hear of each); one
   * read at a time, and none while the audit file has not changed since the last.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const stamp = await this.#auditStamp()
        if (stamp === this.#seen) return
        const states = await this.#read()
        this.#seen = stamp
        for (const [id, state] of states) {
          const current = this.#states.get(id)
          if (current && current.version === state.version && current.changeId === state.changeId) continue
          if (current && current.version > state.version) continue
          this.#states.set(id, state)
          this.#listeners.emit(state)
        }
      } catch (err) {
        this.#options.logger?.warn({ err, file: this.#options.file }, 'authority files could not be read again; keeping the states read before')
      } finally {
        this.#refreshing = undefined
      }
    })()
    return this.#refreshing
  }

  async #auditStamp(): Promise<string> {
    try {
      const info = await stat(this.#options.auditFile)
      return `${info.size}:${info.mtimeMs}`
    } catch {
      return 'none'
    }
  }

  /** The states of every declared slice: the snapshot, with audited changes it missed on top. */
  async #read(): Promise<Map<string, AuthorityState>> {
    const persisted = (await readAuthorityFile(this.#options.file)) ?? {}
    const { entries } = await readAudit(this.#options.auditFile)
    for (const entry of entries) {
      const saved = persisted[entry.slice]
      if (!saved || entry.version > saved.version) {
        persisted[entry.slice] = {
          authority: entry.authority,
          version: entry.version,
          updatedAt: entry.at,
          actor: entry.actor,
          reason: entry.reason,
          instance: entry.instance,
          changeId: entry.changeId ?? null,
        }
      }
    }
    const declared = new Set(this.#options.slices.map((slice) => slice.id))
    this.#retired = Object.fromEntries(Object.entries(persisted).filter(([id]) => !declared.has(id)))
    const states = new Map<string, AuthorityState>()
    for (const slice of this.#options.slices) {
      const saved = persisted[slice.id]
      states.set(slice.id, saved ? { sliceId: slice.id, ...saved } : initialState(slice.id, slice.authority))
    }
    return states
  }

  get(sliceId: string): AuthorityState | undefined {
    return this.#states.get(sliceId)
  }

  list(): readonly AuthorityState[] {
    return [...this.#states.values()]
  }

  status(): StoreStatus {
    return { kind: 'file', connected: true, snapshot: 'store' }
  }

  onChange(listener: (state: AuthorityState) => void): () => void {
    return this.#listeners.add(listener)
  }

  apply(request: ChangeRequest): Promise<AppliedChange[]> {
    if (this.#options.follower === true)
      return Promise.reject(
        fail.authorityStateWrite(`this worker reads ${this.#options.file} and never writes it: changes go through the admin API, which worker 1 serves`, {
          details: { file: this.#options.file },
        }),
      )
    // One request at a time, so compare-and-set sees the previous request's versions.
    const result = this.#writing.then(async () => {
      const checked = checkRequest(request, (id) => this.#states.get(id))
      const at = (this.#options.now?.() ?? new Date()).toISOString()
      // A change to the authority a slice already has writes nothing: no version, no audit entry.
      const all = checked.map(({ current, authority, changeId }): AppliedChange => {
        if (current.authority === authority) return { ...current, previous: current.authority, changed: false }
        return {
          sliceId: current.sliceId,
          previous: current.authority,
          authority,
          version: current.version + 1,
          updatedAt: at,
          actor: request.actor,
          reason: request.reason,
          instance: this.#options.instance,
          changeId: changeId ?? randomUUID(),
          changed: true,
        }
      })
      const next = all.filter((state) => state.changed)
      if (next.length === 0) return all
      const audit = next.map((state): AuditEntry => ({
        id: randomUUID(),
        slice: state.sliceId,
        previous: state.previous,
        authority: state.authority,
        version: state.version,
        actor: request.actor,
        reason: request.reason,
        at,
        instance: this.#options.instance,
        kind: request.kind,
        forced: request.forced === true,
        ...(state.changeId ? { changeId: state.changeId } : {}),
      }))
      const states = new Map(this.#states)
      for (const { previous, changed, ...state } of next) states.set(state.sliceId, state)
      try {
        await appendAudit(this.#options.auditFile, audit)
      } catch (err) {
        throw fail.authorityStateWrite(`could not record the change in ${this.#options.auditFile}: ${(err as Error).message}; the change was not applied`, {
          cause: err,
          details: { file: this.#options.auditFile },
        })
      }
      try {
        await writeAuthorityFile(this.#options.file, this.#persisted(states))
      } catch (err) {
        // The change is committed (audited); the next open replays it onto the snapshot.
        this.#options.logger?.error({ err, file: this.#options.file }, 'authority snapshot not written; the audit trail holds the change')
      }
      for (const { previous, changed, ...state } of next) {
        this.#states.set(state.sliceId, state)
        this.#listeners.emit(state)
      }
      return all
    })
    this.#writing = result.catch(() => undefined)
    return result
  }

  async history(query: HistoryQuery): Promise<AuditEntry[]> {
    const { entries } = await readAudit(this.#options.auditFile)
    const matching = query.slice === undefined ? entries : entries.filter((entry) => entry.slice === query.slice)
    return matching.slice(-query.limit).reverse()
  }

  async close(): Promise<void> {
    clearInterval(this.#followTimer)
    await this.#refreshing
    await this.#writing
  }

  #persisted(states: ReadonlyMap<string, AuthorityState>): PersistedSlices {
    const slices: PersistedSlices = { ...this.#retired }
    for (const { sliceId, ...state } of states.values()) slices[sliceId] = state
    return slices
  }
}
