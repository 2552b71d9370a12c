import { randomUUID } from 'node:crypto'
import { appendFile, open, readFile, rename } from 'node:fs/promises'
import type { Logger } from 'pino'
import { fail } from '../errors/errors.ts'
import type { EventSink } from './event-sink.ts'
import { authorityChanged, type AuthorityChanged } from './events.ts'
import type { AppliedChange, AuditEntry, AuthorityStore, ChangeRequest, OperatorChangeKind } from '../authority/authority-store.ts'

/** A change asked of the store whose AuthorityChanged events are not yet known to be on disk. */
interface PendingChange {
  readonly id: string
  readonly kind: OperatorChangeKind
  readonly forced: boolean
  readonly configVersion: string
  readonly changes: readonly { readonly slice: string; readonly changeId: string }[]
  /** The admin request that asked for the change (absent in entries written before it was kept). */
  readonly requestId?: string | null
}

type JournalLine = ({ readonly op: 'begin' } & PendingChange) | { readonly op: 'end'; readonly id: string }

/** How far back in a slice's audit trail recovery looks for a change it has to publish. */
const RECOVERY_HISTORY = 1_000

/**
 * Makes the AuthorityChanged event of every accepted change durable before the change is
 * acknowledged, and keeps a crash from losing one. Before the store is asked, the change's ids go
 * into a small journal on disk (fsync'd); once the store confirmed it, its events are written
 * durably to the event sink (`writeDurable`: on disk in the outbox or the JSON lines), and the
 * journal entry is closed. A process that dies in between — after the store committed, before the
 * event was on disk — finds the open entry at its next start, looks the change up in the store's
 * audit trail by its id, and publishes the event then; the event id is the change id, so a
 * consumer that sees it twice can tell. A change the store never made is simply closed.
 */
export class ChangeJournal {
  readonly #file: string
  readonly #sink: EventSink<AuthorityChanged>
  readonly #log: Logger
  readonly #open = new Map<string, PendingChange>()
  /** Entries whose commit is running now: never settled by a recovery meanwhile. */
  readonly #inFlight = new Set<string>()
  #recovering: Promise<number> | undefined

  constructor(options: { file: string; sink: EventSink<AuthorityChanged>; logger: Logger }) {
    this.#file = options.file
    this.#sink = options.sink
    this.#log = options.logger.child({ component: 'change-journal' })
  }

  /**
   * Applies a change request through the store with its events made durable. Resolves once the
   * store confirmed and every changed slice's event is on disk. A store that refused, or events
   * that could not be written (the change is then in force, and its events are published at the
   * next start), reject.
   */
  async commit(store: AuthorityStore, request: ChangeRequest, configVersion: string): Promise<AppliedChange[]> {
    const changes = request.changes.map((change) => ({ ...change, changeId: change.changeId ?? randomUUID() }))
    const entry: PendingChange = {
      id: randomUUID(),
      kind: request.kind,
      forced: request.forced === true,
      configVersion,
      changes: changes.map((change) => ({ slice: change.sliceId, changeId: change.changeId })),
      requestId: request.requestId ?? null,
    }
    this.#inFlight.add(entry.id)
    try {
      return await this.#commit(store, request, configVersion, entry, changes)
    } finally {
      this.#inFlight.delete(entry.id)
    }
  }

  async #commit(
    store: AuthorityStore,
    request: ChangeRequest,
    configVersion: string,
    entry: PendingChange,
    changes: ChangeRequest['changes'],
  ): Promise<AppliedChange[]> {
    await this.#append({ op: 'begin', ...entry }, true)
    this.#open.set(entry.id, entry)
    let applied: AppliedChange[]
    try {
      applied = await store.apply({ ...request, changes })
    } catch (err) {
      // Refused or known not applied: nothing to publish. A store that could not confirm (its reply
      // was lost) may have made it: left open, and settled by the next recovery.
      if (!unconfirmed(err)) await this.#close(entry.id)
      throw err
    }
    for (const state of applied) {
      if (!state.changed) continue
      try {
        await this.#sink.writeDurable(authorityChanged(state, request.kind, configVersion, request.forced === true, request.requestId ?? null))
      } catch (err) {
        // The store has the change: it is in force. Its event waits in the journal for the next start.
        this.#log.error(
          { err, slice: state.sliceId, version: state.version },
          'authority change in force, but its AuthorityChanged event could not be written; it is published at the next start',
        )
        throw fail.eventSinkUnavailable(
          `slice ${JSON.stringify(state.sliceId)} is now ${state.authority} (version ${state.version}), but its AuthorityChanged event could not be written (${(err as Error).message}); it is kept and published at the next start`,
          { cause: err, details: { slice: state.sliceId, version: state.version, inForce: true } },
        )
      }
    }
    await this.#close(entry.id)
    return applied
  }

  /**
   * At start (and whenever asked): publishes the events of changes an earlier run left open, found
   * in the store's audit trail by their ids; closes those the store never made. Entries whose
   * lookup fails now (store away) stay open for the next try. Returns how many events it wrote.
   */
  recover(store: AuthorityStore): Promise<number> {
    this.#recovering ??= this.#recover(store).finally(() => (this.#recovering = undefined))
    return this.#recovering
  }

  /**
   * Settles what is open now and then every `intervalMs` (a change whose reply was lost is
   * published once the store can be asked again), until the returned stop is called.
   */
  settleEvery(store: AuthorityStore, intervalMs: number): () => void {
    const timer = setInterval(() => {
      if (this.#open.size > this.#inFlight.size)
        void this.recover(store).catch((err: unknown) => this.#log.warn({ err }, 'authority journal recovery failed; retrying later'))
    }, intervalMs)
    timer.unref()
    return () => clearInterval(timer)
  }

  async #recover(store: AuthorityStore): Promise<number> {
    await this.#load()
    let written = 0
    for (const entry of [...this.#open.values()]) {
      if (this.#inFlight.has(entry.id)) continue
      try {
        for (const { slice, changeId } of entry.changes) {
          const found = (await store.history({ slice, limit: RECOVERY_HISTORY })).find((audit) => audit.changeId === changeId)
          if (!found) continue
          await this.#sink.writeDurable(authorityChanged(fromAudit(found), entry.kind, entry.configVersion, entry.forced, entry.requestId ?? null))
          written += 1
        }
        await this.#close(entry.id)
      } catch (err) {
        this.#log.warn({ err, entry: entry.id }, 'could not settle an authority change left open by an earlier run; retrying later')
      }
    }
    if (written > 0) this.#log.warn({ written }, 'published the AuthorityChanged events of changes an earlier run committed but did not record')
    // A commit running now appends to the file: compacting under it could drop its closing line.
    if (this.#inFlight.size === 0) await this.#compact()
    return written
  }

  /** Changes whose events are not yet known to be on disk. */
  get open(): number {
    return this.#open.size
  }

  async #close(id: string): Promise<void> {
    this.#open.delete(id)
    // Not flushed: a lost "end" only means the change is looked up again at the next start.
    await this.#append({ op: 'end', id }, false)
  }

  async #append(line: JournalLine, sync: boolean): Promise<void> {
    const text = `${JSON.stringify(line)}\n`
    if (!sync) {
      await appendFile(this.#file, text)
      return
    }
    const handle = await open(this.#file, 'a')
    try {
      await handle.appendFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  /** Reads the journal: every "begin" without its "end" is open. A torn last line is skipped. */
  async #load(): Promise<void> {
    let text = ''
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue
      let line: JournalLine
      try {
        line = JSON.parse(raw) as JournalLine
      } catch {
        continue
      }
      if (line.op === 'begin') this.#open.set(line.id, line)
      else this.#open.delete(line.id)
    }
  }

  /** Rewrites the journal with only the open entries (temporary file, flushed, renamed). */
  async #compact(): Promise<void> {
    const temporary = `${this.#file}.${process.pid}.tmp`
    const handle = await open(temporary, 'w')
    try {
      await handle.writeFile([...this.#open.values()].map((entry) => `${JSON.stringify({ op: 'begin', ...entry })}\n`).join(''))
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, this.#file)
  }
}

/** A store error after which the change may or may not have been made (its reply was lost). */
function unconfirmed(err: unknown): boolean {
  const { code, details } = err as { code?: string; details?: { outcome?: string } }
  return code === 'FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE' && details?.outcome !== 'not-applied'
}

function fromAudit(entry: AuditEntry): AppliedChange {
  return {
    sliceId: entry.slice,
    authority: entry.authority,
    previous: entry.previous,
    version: entry.version,
    updatedAt: entry.at,
    actor: entry.actor,
    reason: entry.reason,
    instance: entry.instance,
    changeId: entry.changeId ?? null,
    changed: true,
  }
}
