import { resolve } from 'node:path'
import type { IdDirection, IdentityMapConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'
import { FileIdentityStore } from './file-identity-store.ts'
import { idProblem, type IdentityStore } from './identity-store.ts'
import { LruCache } from './lru-cache.ts'
import { RedisIdentityStore } from './redis-identity-store.ts'

/**
 * What a lookup found: the other side's id, no mapping (or only one that cannot be used: a control
 * character, over 256 characters — `reason` says so), or no answer in time (store down or slow).
 */
export type IdLookup =
  | { readonly kind: 'found'; readonly id: string }
  | { readonly kind: 'missing'; readonly reason?: string }
  | { readonly kind: 'unavailable'; readonly reason: string }

/** How a lookup is counted: found, missing, unusable (a mapping that cannot be used), unavailable. */
export type LookupResult = 'found' | 'missing' | 'unusable' | 'unavailable'

/**
 * Lookups of one map waiting for its store at once; beyond, a lookup is `unavailable` without asking.
 * A frozen Redis keeps every command sent to it until it answers: this bounds what piles up (and
 * what it runs when it thaws).
 */
export const MAX_LOOKUPS_IN_FLIGHT = 256

export interface IdentityMapsOptions {
  readonly configs: ReadonlyMap<string, IdentityMapConfig>
  /** Redis of maps kept there; a Redis map without it refuses to open. */
  readonly redis?: { readonly url: string; readonly prefix: string } | undefined
  /** Where relative files are found. Default: the working directory. */
  readonly cwd?: string
  /** Every lookup, for the metrics: the map, what it found, and whether the cache answered. */
  readonly onLookup?: (map: string, result: LookupResult, cached: boolean) => void
  /** A file map whose file does not exist yet is empty (for imports). */
  readonly missingFilesOk?: boolean
  /** A Redis command timeout (imports and counts, off the request path); lookups are bounded by lookupTimeoutMs either way. */
  readonly commandTimeoutMs?: number
}

interface OpenMap {
  readonly config: IdentityMapConfig
  readonly store: IdentityStore
  /** Redis lookups remembered; none for file maps (already in memory). */
  readonly cache: LruCache<string | null> | undefined
  /** Store calls not settled yet (a timed-out call stays until the store answers). */
  inFlight: number
}

/**
 * The configured identity maps, opened: each lookup bounded by its map's `lookupTimeoutMs`
 * (beyond, `unavailable`, never a hang), Redis lookups cached (found ids and misses, each with its
 * lifetime), every lookup counted.
 */
export class IdentityMaps {
  readonly #maps: ReadonlyMap<string, OpenMap>
  readonly #onLookup: IdentityMapsOptions['onLookup']

  private constructor(maps: ReadonlyMap<string, OpenMap>, onLookup: IdentityMapsOptions['onLookup']) {
    this.#maps = maps
    this.#onLookup = onLookup
  }

  /** Opens every map: file maps are read whole (a bad file refuses the start, naming its lines). */
  static async open(options: IdentityMapsOptions): Promise<IdentityMaps> {
    const maps = new Map<string, OpenMap>()
    try {
      for (const config of options.configs.values()) maps.set(config.name, await openMap(config, options))
    } catch (err) {
      await Promise.all([...maps.values()].map((map) => map.store.close()))
      throw err
    }
    return new IdentityMaps(maps, options.onLookup)
  }

  get names(): readonly string[] {
    return [...this.#maps.keys()]
  }

  /** The store of a map (imports, counts); throws for a map the config does not declare. */
  store(name: string): IdentityStore {
    return this.#open(name).store
  }

  async lookup(name: string, direction: IdDirection, id: string): Promise<IdLookup> {
    const map = this.#open(name)
    // An id no map can hold is missing at once: no store call, no cache entry to crowd out real ones.
    const problem = idProblem(id)
    if (problem) return this.#counted(name, { kind: 'missing', reason: `the id ${problem}` }, 'unusable', false)
    const key = `${direction}\0${id}`
    const cached = map.cache?.get(key)
    if (cached !== undefined) return this.#counted(name, cached === null ? { kind: 'missing' } : { kind: 'found', id: cached }, undefined, true)
    if (map.inFlight >= MAX_LOOKUPS_IN_FLIGHT)
      return this.#counted(name, { kind: 'unavailable', reason: `${MAX_LOOKUPS_IN_FLIGHT} lookups are already waiting for the store` }, undefined, false)
    map.inFlight += 1
    const pending = map.store.get(direction, id)
    const settled = (): void => {
      map.inFlight -= 1
    }
    pending.then(settled, settled)
    const found = await within(pending, map.config.lookupTimeoutMs)
    if (found.kind === 'found') map.cache?.set(key, found.id, map.config.cache.ttlMs)
    // A mapping that cannot be used is cached like a miss: asking again gives the same answer.
    else if (found.kind === 'missing') map.cache?.set(key, null, map.config.cache.missTtlMs)
    return this.#counted(name, found, found.kind === 'missing' && found.reason !== undefined ? 'unusable' : undefined, false)
  }

  async close(): Promise<void> {
    await Promise.all([...this.#maps.values()].map((map) => map.store.close()))
  }

  #open(name: string): OpenMap {
    const map = this.#maps.get(name)
    if (!map) throw fail.cliUsage(`unknown identity map ${JSON.stringify(name)} (declared: ${this.names.join(', ') || 'none'})`)
    return map
  }

  #counted(name: string, found: IdLookup, result: LookupResult | undefined, cached: boolean): IdLookup {
    this.#onLookup?.(name, result ?? found.kind, cached)
    return found
  }
}

async function openMap(config: IdentityMapConfig, options: IdentityMapsOptions): Promise<OpenMap> {
  if (config.source.kind === 'redis') {
    if (!options.redis)
      throw fail.identityMapUnreadable(
        `identity map ${JSON.stringify(config.name)} is kept in Redis (identityMaps.${config.name}.redis), but REDIS_URL is not set`,
      )
    const store = new RedisIdentityStore({
      ...options.redis,
      name: config.name,
      ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    })
    await store.open()
    return { config, store, cache: config.cache.entries > 0 ? new LruCache(config.cache.entries) : undefined, inFlight: 0 }
  }
  const file = resolve(options.cwd ?? process.cwd(), config.source.file)
  const store = new FileIdentityStore(file, config.source.format, { missingOk: options.missingFilesOk ?? false })
  try {
    await store.open()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code ? `${code} (${file})` : (err as Error).message
    throw fail.identityMapUnreadable(`identity map ${JSON.stringify(config.name)} cannot be read: ${why}`, { cause: err })
  }
  return { config, store, cache: undefined, inFlight: 0 }
}

/** The lookup's answer, or `unavailable` when it failed or took longer than `ms`. */
async function within(pending: Promise<string | null>, ms: number): Promise<IdLookup> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<IdLookup>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'unavailable', reason: `no answer within ${ms} ms` }), ms)
  })
  const answer = pending.then(
    (id): IdLookup => {
      if (id === null) return { kind: 'missing' }
      // Written by other systems: an id that cannot go into a header or a log is not used.
      const problem = idProblem(id)
      return problem ? { kind: 'missing', reason: `the mapped id ${problem}` } : { kind: 'found', id }
    },
    (err: unknown): IdLookup => ({ kind: 'unavailable', reason: (err as Error).message }),
  )
  try {
    return await Promise.race([answer, deadline])
  } finally {
    clearTimeout(timer)
  }
}
