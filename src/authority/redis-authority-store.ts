import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { backoffDelay } from '../retry/backoff.ts'
import { parseAuthority, type Authority } from '../model/authority-value.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { readAuthorityFile, writeAuthorityFile, type PersistedSlices } from './authority-file.ts'
import {
  ChangeListeners,
  checkRequest,
  conflict,
  initialState,
  CHANGE_KINDS,
  type AppliedChange,
  type AuditEntry,
  type AuthorityState,
  type AuthorityStore,
  type ChangeKind,
  type ChangeRequest,
  type HistoryQuery,
  type StoreStatus,
} from './authority-store.ts'
import { APPLY_CHANGES_LUA, RESTORE_STATE_LUA, RUN_AND_CLOCK_LUA } from './redis-scripts.ts'

export const DEFAULT_REDIS_PREFIX = 'ficus:'
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 2_000
/** A frozen Redis is given up on after this; a change then expires in Redis rather than land later. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000
export const DEFAULT_AUDIT_MAX_LENGTH = 100_000
/** Reconnect attempts are at most this far apart: an instance is back within about this long. */
const MAX_RECONNECT_DELAY_MS = 500
export const DEFAULT_RESYNC_INTERVAL_MS = 5_000
const HISTORY_PAGE = 500
const HISTORY_MAX_SCANNED = 20_000

export interface RedisAuthorityStoreOptions {
  readonly url: string
  /** Prefix of every key and channel, so several migrations (or test runs) can share one Redis. */
  readonly prefix: string
  readonly slices: readonly { readonly id: string; readonly authority: Authority }[]
  readonly instance: string
  /** Where the last snapshot is kept, to start from when Redis is unreachable at start. */
  readonly cacheFile: string
  readonly logger: Logger
  /** How long `open` waits for Redis before starting on the cached (or initial) snapshot. */
  readonly connectTimeoutMs?: number
  readonly commandTimeoutMs?: number
  /** Approximate length the audit stream is trimmed to. */
  readonly auditMaxLength?: number
  /**
   * How often the snapshot is compared with Redis besides every (re)connection: a store that went
   * back to older data behind a connection that stayed up (a failover) is repaired within this.
   */
  readonly resyncIntervalMs?: number
  readonly now?: () => Date
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable REDIS_URL)'
  }
}

/**
 * The production store. Authority lives in one Redis hash (slice → JSON state), every change goes
 * through one Lua script that checks versions, writes the hash, appends to the audit stream and
 * publishes the new states — atomically. Every instance applies published states to its in-memory
 * snapshot and re-reads the whole hash whenever its connection is (re)made and every few seconds,
 * so a change made while it was away is applied on reconnect. The snapshot is cached on disk: with
 * Redis unreachable at start, the gateway serves the cached (or the config's) values.
 *
 * Faults of the store itself: Redis may come back empty, or with older data than the instances
 * hold (a restart from an earlier save, a replica that missed writes). The rule that makes every
 * instance converge: every state carries its version and the id of the change that made it; a new
 * change gets a version above both the store's and the asking instance's (so a version is never
 * handed out twice to different changes an instance could confuse); a state from the store
 * replaces the snapshot's when its version is higher, or equal with another change id; and an
 * instance that finds the store behind it (nothing, or a lower version) writes its newer state
 * back — only while the store is still behind — with an audit entry (`reseed`, `restore`) that
 * says what the store held and which state won. The README's Operations section states the rule.
 */
export class RedisAuthorityStore implements AuthorityStore {
  readonly kind = 'redis'
  readonly #options: RedisAuthorityStoreOptions
  readonly #log: Logger
  readonly #keys: { hash: string; audit: string; channel: string }
  readonly #initial = new Map<string, Authority>()
  readonly #states = new Map<string, AuthorityState>()
  readonly #listeners = new ChangeListeners()
  #client: Redis | undefined
  #subscriber: Redis | undefined
  #snapshot: StoreStatus['snapshot'] = 'config'
  #everConnected = false
  #connected = false
  #cacheWrite: Promise<unknown> = Promise.resolve()
  #firstSync: (() => void) | undefined
  #resyncTimer: NodeJS.Timeout | undefined
  #resyncing: Promise<void> | undefined
  /** run_id of the Redis process the client is connected to (a state it accepted is the newest). */
  #runId: string | undefined
  /** Redis's clock minus ours, in milliseconds: a change's deadline is set on Redis's clock. */
  #clockOffsetMs = 0

  constructor(options: RedisAuthorityStoreOptions) {
    this.#options = options
    this.#log = options.logger.child({ store: 'redis' })
    this.#keys = { hash: `${options.prefix}authority`, audit: `${options.prefix}audit`, channel: `${options.prefix}authority-changes` }
    for (const slice of options.slices) this.#initial.set(slice.id, slice.authority)
  }

  async open(): Promise<void> {
    const cached = await readAuthorityFile(this.#options.cacheFile)
    for (const slice of this.#options.slices) {
      const saved = cached?.[slice.id]
      this.#states.set(slice.id, saved ? { sliceId: slice.id, ...saved } : initialState(slice.id, slice.authority))
    }
    this.#snapshot = cached ? 'cache' : 'config'

    const common = {
      lazyConnect: true,
      connectTimeout: this.#options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
      // Exponential backoff with jitter, capped: reconnect attempts never stop.
      retryStrategy: (times: number) => backoffDelay(times, { baseMs: 50, maxMs: MAX_RECONNECT_DELAY_MS }),
    }
    // Subscribed again by us on every ready, with the rejection handled: ioredis's own resubscribe
    // leaves its promise unhandled when the connection drops right after coming back.
    const subscriber = new Redis(this.#options.url, { ...common, enableOfflineQueue: true, autoResubscribe: false })
    subscriber.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'subscriber connection error'))
    subscriber.on('message', (_channel: string, message: string) => this.#applyMessage(message))
    subscriber.on('ready', () => {
      subscriber.subscribe(this.#keys.channel).catch((err: unknown) => this.#log.debug({ err }, 'subscribe failed; retried on the next connection'))
      // A message published while the subscriber was away is caught by the client's resync.
      if (this.#client?.status === 'ready') void this.#resync()
    })
    this.#subscriber = subscriber

    // Commands fail at once while disconnected: a flip is refused, never queued and replayed later.
    const client = new Redis(this.#options.url, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#commandTimeoutMs,
    })
    client.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'redis connection error'))
    client.on('ready', () => void this.#resync())
    client.on('close', () => {
      if (!this.#connected) return
      this.#connected = false
      this.#log.error({ url: redactUrl(this.#options.url) }, 'authority store connection lost: serving the last snapshot, flips are refused until it is back')
    })
    this.#client = client

    const interval = this.#options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS
    this.#resyncTimer = setInterval(() => void this.#resync(), interval)
    this.#resyncTimer.unref()
    const synced = new Promise<void>((resolve) => (this.#firstSync = resolve))
    subscriber.connect().catch(() => undefined)
    client.connect().catch(() => undefined)
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const inTime = await Promise.race([synced.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))])
    clearTimeout(timer)
    if (!inTime) {
      this.#log.error(
        { url: redactUrl(this.#options.url), snapshot: this.#snapshot, cacheFile: this.#options.cacheFile, timeoutMs },
        `authority store unreachable at start: serving the ${this.#snapshot === 'cache' ? 'last cached snapshot' : "config's initial values"}; retrying in the background`,
      )
    }
  }

  get(sliceId: string): AuthorityState | undefined {
    return this.#states.get(sliceId)
  }

  list(): readonly AuthorityState[] {
    return [...this.#states.values()]
  }

  status(): StoreStatus {
    // Connected means the snapshot follows the store again: the connection is up and a resync has finished on it.
    return { kind: 'redis', connected: this.#connected && this.#client?.status === 'ready', snapshot: this.#snapshot }
  }

  onChange(listener: (state: AuthorityState) => void): () => void {
    return this.#listeners.add(listener)
  }

  async apply(request: ChangeRequest): Promise<AppliedChange[]> {
    // A repair of the store in progress (Redis came back, perhaps from an older save) goes first:
    // the change then lands on the repaired store, and the trail has the restore before it.
    if (this.#resyncing) await this.#resyncing
    const client = this.#readyClient()
    // Versions are compared inside the script, against Redis, not against this instance's snapshot.
    const checked = checkRequest(request, (id) => this.#states.get(id), { versions: false })
    const changes = checked.map(({ current, authority, expectedVersion, changeId }) => ({
      slice: current.sliceId,
      authority,
      expected: expectedVersion ?? -1,
      initial: this.#initial.get(current.sliceId) ?? 'legacy',
      floor: current.version,
      id: changeId ?? randomUUID(),
    }))
    let reply: unknown
    try {
      reply = await client.eval(
        APPLY_CHANGES_LUA,
        2,
        this.#keys.hash,
        this.#keys.audit,
        this.#keys.channel,
        (this.#options.now?.() ?? new Date()).toISOString(),
        this.#options.instance,
        request.actor,
        request.reason,
        request.kind,
        String(this.#options.auditMaxLength ?? DEFAULT_AUDIT_MAX_LENGTH),
        JSON.stringify(changes),
        String(request.forced === true),
        String(Date.now() + this.#clockOffsetMs + this.#commandTimeoutMs),
      )
    } catch (err) {
      const message = (err as Error).message
      const match = /CONFLICT (\S+) (\d+) (\d+)/.exec(message)
      if (match) throw conflict(match[1] ?? '', Number(match[2]), Number(match[3]))
      if (message.includes('EXPIRED'))
        throw unavailable(`Redis did not run the change within ${this.#commandTimeoutMs} ms; it was not applied`, err, 'not-applied')
      throw unavailable(
        `Redis did not confirm the change within ${this.#commandTimeoutMs} ms; it expires there unapplied unless Redis had already run it — check \`ficus status\` before retrying`,
        err,
        'unknown',
      )
    }
    const [encoded, previous, changed] = reply as [string[], string[], string[]]
    const applied: AppliedChange[] = []
    encoded.forEach((raw, index) => {
      const state = this.#parseState(raw, changes[index]?.slice)
      const before = parseAuthority(previous[index])
      if (!state) return
      this.#applyState(state)
      applied.push({ ...state, previous: before.ok ? before.authority : 'legacy', changed: changed[index] === '1' })
    })
    return applied
  }

  async history(query: HistoryQuery): Promise<AuditEntry[]> {
    const client = this.#readyClient()
    const found: AuditEntry[] = []
    let end = '+'
    let scanned = 0
    try {
      while (found.length < query.limit && scanned < HISTORY_MAX_SCANNED) {
        const page = await client.xrevrange(this.#keys.audit, end, '-', 'COUNT', query.slice === undefined ? query.limit : HISTORY_PAGE)
        for (const [id, fields] of page) {
          const entry = toAuditEntry(id, fields)
          if (entry && (query.slice === undefined || entry.slice === query.slice)) found.push(entry)
          if (found.length === query.limit) break
        }
        scanned += page.length
        const last = page.at(-1)
        if (!last || page.length < HISTORY_PAGE || query.slice === undefined) break
        end = `(${last[0]}`
      }
    } catch (err) {
      throw unavailable('the audit trail could not be read', err)
    }
    return found
  }

  async close(): Promise<void> {
    clearInterval(this.#resyncTimer)
    this.#connected = false
    this.#subscriber?.disconnect()
    this.#client?.disconnect()
    await this.#cacheWrite
  }

  get #commandTimeoutMs(): number {
    return this.#options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS
  }

  #readyClient(): Redis {
    const client = this.#client
    if (client?.status !== 'ready')
      throw unavailable('Redis is unreachable; the gateway keeps serving its last snapshot, but changes are refused until it is back', undefined, 'not-applied')
    return client
  }

  /** Compares the snapshot with Redis, one run at a time: adopts what the store has that is newer, repairs what it lost. */
  #resync(): Promise<void> {
    this.#resyncing ??= this.#resyncOnce().finally(() => (this.#resyncing = undefined))
    return this.#resyncing
  }

  async #resyncOnce(): Promise<void> {
    const client = this.#client
    if (client?.status !== 'ready') return
    let all: Record<string, string>
    try {
      const sent = Date.now()
      const [run, clock] = (await client.eval(RUN_AND_CLOCK_LUA, 0)) as [string, string]
      this.#runId = run
      this.#clockOffsetMs = Number(clock) - Math.round((sent + Date.now()) / 2)
      all = await client.hgetall(this.#keys.hash)
    } catch (err) {
      this.#log.warn({ err }, 'authority resync failed; retrying on the next connection')
      return
    }
    for (const [sliceId, local] of this.#states) {
      const raw = all[sliceId]
      const stored = raw === undefined ? undefined : this.#parseState(raw, sliceId)
      if (stored && this.#newer(stored, local)) {
        if (stored.version <= local.version)
          this.#log.warn(
            { slice: sliceId, version: stored.version, held: local.version },
            'the store holds a change made since Redis started that this instance missed: adopting it',
          )
        this.#applyState(stored)
      } else if (local.version > 0 && (raw === undefined || (stored !== undefined && stored.runId !== this.#runId && stored.version < local.version))) {
        await this.#restore(client, local, stored)
      }
    }
    this.#snapshot = 'store'
    this.#persistCache()
    if (!this.#connected) {
      this.#connected = true
      if (this.#everConnected) this.#log.warn({ url: redactUrl(this.#options.url) }, 'authority store reconnected; snapshot resynchronised')
      else this.#log.info({ url: redactUrl(this.#options.url), slices: this.#states.size }, 'authority store connected')
      this.#everConnected = true
    }
    this.#firstSync?.()
    this.#firstSync = undefined
  }

  /** Writes this instance's newer state back into a store that lost it (only while the store is still behind). */
  async #restore(client: Redis, local: AuthorityState, stored: AuthorityState | undefined): Promise<void> {
    const { sliceId, ...state } = local
    try {
      const [now, written] = (await client.eval(
        RESTORE_STATE_LUA,
        2,
        this.#keys.hash,
        this.#keys.audit,
        this.#keys.channel,
        (this.#options.now?.() ?? new Date()).toISOString(),
        this.#options.instance,
        sliceId,
        JSON.stringify({ sliceId, ...state, changeId: state.changeId ?? null }),
        String(this.#options.auditMaxLength ?? DEFAULT_AUDIT_MAX_LENGTH),
      )) as [string, string]
      if (written === '1') {
        this.#log.warn(
          {
            slice: sliceId,
            version: local.version,
            authority: local.authority,
            storeHad: stored ? { version: stored.version, authority: stored.authority } : null,
          },
          stored
            ? 'the store went back to older data for this slice: restored the newer state this instance holds (audited)'
            : "the store holds nothing for this slice: re-seeded it from this instance's snapshot (audited)",
        )
        return
      }
      const theirs = this.#parseState(now, sliceId)
      if (theirs) this.#applyState(theirs)
    } catch (err) {
      this.#log.warn({ err, slice: sliceId }, 'could not repair the store for this slice; retrying on the next resync')
    }
  }

  #applyMessage(message: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      this.#log.warn('ignored an authority message that is not JSON')
      return
    }
    if (!Array.isArray(parsed)) return
    for (const item of parsed) {
      const state = this.#parseState(JSON.stringify(item))
      if (state) this.#applyState(state)
    }
  }

  /**
   * Whether a state from the store replaces the snapshot's: one accepted by the Redis running now
   * (a change made since it started) whenever it is another change; one kept from an earlier run
   * when its version is higher, or equal with another change id.
   */
  #newer(incoming: AuthorityState, local: AuthorityState | undefined): boolean {
    if (!local) return true
    const other = (incoming.changeId ?? null) !== (local.changeId ?? null) && incoming.changeId !== undefined && incoming.changeId !== null
    if (incoming.runId !== undefined && incoming.runId !== null && incoming.runId === this.#runId) return other || incoming.version > local.version
    return incoming.version > local.version || (incoming.version === local.version && other)
  }

  /** Applies a state the store confirmed when it is newer than the snapshot's (see `#newer`). */
  #applyState(state: AuthorityState): void {
    const local = this.#states.get(state.sliceId)
    if (!local || !this.#newer(state, local)) return
    this.#states.set(state.sliceId, state)
    this.#listeners.emit(state)
    this.#persistCache()
  }

  #parseState(raw: string, sliceId?: string): AuthorityState | undefined {
    try {
      const data = JSON.parse(raw) as Partial<AuthorityState>
      const id = sliceId ?? data.sliceId
      const authority = parseAuthority(data.authority)
      if (typeof id !== 'string' || !authority.ok || !Number.isInteger(data.version)) throw new Error('bad shape')
      return {
        sliceId: id,
        authority: authority.authority,
        version: data.version as number,
        updatedAt: data.updatedAt ?? null,
        actor: data.actor ?? null,
        reason: data.reason ?? null,
        instance: data.instance ?? null,
        changeId: typeof data.changeId === 'string' ? data.changeId : null,
        runId: typeof data.runId === 'string' ? data.runId : null,
      }
    } catch {
      this.#log.warn({ slice: sliceId }, 'ignored an authority state in Redis that Ficus cannot read')
      return undefined
    }
  }

  #persistCache(): void {
    const slices: PersistedSlices = {}
    for (const { sliceId, ...state } of this.#states.values()) slices[sliceId] = state
    this.#cacheWrite = this.#cacheWrite
      .then(() => writeAuthorityFile(this.#options.cacheFile, slices))
      .catch((err: unknown) => this.#log.warn({ err, file: this.#options.cacheFile }, 'could not cache the authority snapshot'))
  }
}

/** `outcome`: whether the change is known not to be applied, or may have been (the reply was lost). */
function unavailable(message: string, cause?: unknown, outcome?: 'not-applied' | 'unknown'): FicusError {
  return fail.authorityStoreUnavailable(`authority store unavailable: ${message}`, { cause, ...(outcome === undefined ? {} : { details: { outcome } }) })
}

function toAuditEntry(id: string, fields: string[]): AuditEntry | undefined {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '')
  const previous = parseAuthority(map.get('previous'))
  const authority = parseAuthority(map.get('authority'))
  const kind = map.get('kind') as ChangeKind | undefined
  if (!previous.ok || !authority.ok || kind === undefined || !CHANGE_KINDS.includes(kind)) return undefined
  return {
    id,
    slice: map.get('slice') ?? '',
    previous: previous.authority,
    authority: authority.authority,
    version: Number(map.get('version')),
    actor: map.get('actor') ?? '',
    reason: map.get('reason') ?? '',
    at: map.get('at') ?? '',
    instance: map.get('instance') ?? '',
    kind,
    forced: map.get('forced') === 'true',
    ...(map.get('change') ? { changeId: map.get('change') } : {}),
  }
}
