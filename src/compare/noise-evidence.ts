import { coveredBy, formatPointer, parsePointer, type JsonValue } from './json-pointer.ts'

/**
 * Noise is a judgement made on repeated evidence: the authoritative side is asked twice (a
 * double-ask) and the paths its two answers differ on are counted against the double-asks whose
 * answers held that path. A path becomes noise for a route only when, within a rolling window, it
 * differed at least `minSelfDifferences` times in at least `minRatio` of the double-asks that
 * covered it. Learned noise expires `ttlMs` after it was last confirmed by the evidence. An
 * operator may confirm a path (noise until cleared) or reject it (never noise until cleared).
 * `/status` and the slice's critical paths are never noise. Array indexes are generalised to `*`.
 * Pure: time comes in as an argument; memory is bounded per route.
 */
export interface NoiseSettings {
  readonly minSelfDifferences: number
  /** 0 … 1. */
  readonly minRatio: number
  readonly windowMs: number
  readonly ttlMs: number
}

export const DEFAULT_NOISE: NoiseSettings = { minSelfDifferences: 3, minRatio: 0.5, windowMs: 60 * 60 * 1000, ttlMs: 24 * 60 * 60 * 1000 }

/** Paths tracked per route; beyond, new paths are not counted (and the listing says so). */
export const MAX_NOISE_PATHS_PER_ROUTE = 500
/** Nodes of one answer counted as covered, at most. */
const MAX_COVERED_NODES = 2_000
const SLOTS = 12

export const NOISE_DECISIONS = ['confirm', 'reject'] as const
export type NoiseDecision = (typeof NOISE_DECISIONS)[number]

export const NOISE_STATES = ['watching', 'learned', 'confirmed', 'rejected', 'expired'] as const
export type NoiseState = (typeof NOISE_STATES)[number]

/** One path of one route, with the evidence behind its state. */
export interface NoisePath {
  readonly route: string
  readonly path: string
  readonly state: NoiseState
  /** In the rolling window: differences between the authoritative side's two answers, and double-asks covering the path. */
  readonly selfDifferences: number
  readonly doubleAsks: number
  readonly ratio: number | null
  /** When the evidence last met the threshold (ms), and when that judgement runs out. */
  readonly lastConfirmed: number | null
  readonly expiresAt: number | null
  readonly decision: { readonly decision: NoiseDecision; readonly actor: string; readonly reason: string; readonly at: string } | null
}

interface Tally {
  readonly slots: { start: number; differences: number; covers: number }[]
  lastConfirmed: number | null
}

/** `/body/items/3/at` → `/body/items/*\/at`: noise is judged per field, not per element. */
export function generalise(path: string): string {
  return formatPointer(parsePointer(path).map((segment) => (/^\d+$/.test(segment) ? '*' : segment)))
}

/**
 * Publishes the object key `segments[at]` of a path whose earlier segments are in clear (indexes as
 * `*`): `PublishedPaths.key`, so that covered paths and differing paths hash keys alike.
 */
export type PublishKey = (segments: readonly string[], at: number) => string

/** Every node path of an answer (status excluded), generalised, at most `limit`; keys as `key` publishes them. */
export function nodePaths(
  headers: readonly string[],
  body: JsonValue | undefined,
  limit = MAX_COVERED_NODES,
  key: PublishKey = (segments, at) => segments[at] as string,
): Set<string> {
  const out = new Set<string>(headers.map((name) => `/headers/${name}`))
  // `clear` holds the path's own segments (for the key rules), `at` its published form.
  const walk = (value: JsonValue, clear: string[], at: string): void => {
    if (out.size >= limit) return
    out.add(at)
    if (Array.isArray(value)) for (const item of value) walk(item, [...clear, '*'], `${at}/*`)
    else if (value !== null && typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) {
        const segments = [...clear, name]
        walk(item, segments, `${at}${formatPointer([key(segments, segments.length - 1)])}`)
      }
    }
  }
  if (body !== undefined) walk(body, ['body'], '/body')
  return out
}

export class NoiseEvidence {
  readonly #settings: NoiseSettings
  readonly #critical: readonly (readonly string[])[]
  readonly #routes = new Map<string, Map<string, Tally>>()
  readonly #decisions = new Map<string, NonNullable<NoisePath['decision']>>()

  /** `critical`: `/body/...` paths (with `*`) that are never noise. */
  constructor(settings: NoiseSettings, critical: readonly string[] = []) {
    this.#settings = settings
    this.#critical = critical.map(parsePointer)
  }

  /** One double-ask of `route`: the paths its answers held, and those on which they differed. */
  record(route: string, covered: Iterable<string>, differing: Iterable<string>, now: number): void {
    let paths = this.#routes.get(route)
    if (!paths) this.#routes.set(route, (paths = new Map<string, Tally>()))
    const differed = new Set([...differing].map(generalise))
    for (const path of new Set([...covered, ...differed])) {
      if (!this.#eligible(path)) continue
      let tally = paths.get(path)
      if (!tally) {
        // Only a path that differed is worth a place; coverage alone of an unknown path is not.
        if (!differed.has(path) || paths.size >= MAX_NOISE_PATHS_PER_ROUTE) continue
        paths.set(path, (tally = { slots: [], lastConfirmed: null }))
      }
      const slot = this.#slot(tally, now)
      slot.covers += 1
      if (differed.has(path)) slot.differences += 1
      const { differences, covers } = this.#window(tally, now)
      if (differences >= this.#settings.minSelfDifferences && differences / covers >= this.#settings.minRatio) tally.lastConfirmed = now
    }
  }

  /** The paths differences on which are noise for `route` now. */
  noisy(route: string, now: number): ReadonlySet<string> {
    const out = new Set<string>()
    for (const [path, tally] of this.#routes.get(route) ?? []) if (this.#state(route, path, tally, now) === 'learned') out.add(path)
    for (const [key, decision] of this.#decisions) {
      const [decisionRoute, path] = splitKey(key)
      if (decisionRoute === route && decision.decision === 'confirm' && this.#eligible(path)) out.add(path)
    }
    return out
  }

  /** An operator's decision about one path (from the authority store: every instance gets it). */
  decide(route: string, path: string, decision: NonNullable<NoisePath['decision']> | null): void {
    const key = `${route}\0${generalise(path)}`
    if (decision === null) this.#decisions.delete(key)
    else this.#decisions.set(key, decision)
  }

  /** Every tracked path (and every decided one) with its evidence, most differing first. */
  list(now: number): NoisePath[] {
    const out: NoisePath[] = []
    const seen = new Set<string>()
    for (const [route, paths] of this.#routes) {
      for (const [path, tally] of paths) {
        const { differences, covers } = this.#window(tally, now)
        const state = this.#state(route, path, tally, now)
        // Nothing differed in the window and nothing is learned: forget the path (memory stays bounded).
        if (differences === 0 && (state === 'watching' || state === 'expired')) {
          paths.delete(path)
          continue
        }
        seen.add(`${route}\0${path}`)
        out.push({
          route,
          path,
          state,
          selfDifferences: differences,
          doubleAsks: covers,
          ratio: covers === 0 ? null : differences / covers,
          lastConfirmed: tally.lastConfirmed,
          expiresAt: tally.lastConfirmed === null ? null : tally.lastConfirmed + this.#settings.ttlMs,
          decision: this.#decisions.get(`${route}\0${path}`) ?? null,
        })
      }
    }
    for (const [key, decision] of this.#decisions) {
      if (seen.has(key)) continue
      const [route, path] = splitKey(key)
      out.push({
        route,
        path,
        state: decision.decision === 'confirm' ? 'confirmed' : 'rejected',
        selfDifferences: 0,
        doubleAsks: 0,
        ratio: null,
        lastConfirmed: null,
        expiresAt: null,
        decision,
      })
    }
    return out.sort((a, b) => b.selfDifferences - a.selfDifferences || a.route.localeCompare(b.route) || a.path.localeCompare(b.path))
  }

  #eligible(path: string): boolean {
    if (path === '/status') return false
    const segments = parsePointer(path)
    return !this.#critical.some((critical) => coveredBy(segments, critical) || coveredBy(critical, segments))
  }

  #state(route: string, path: string, tally: Tally, now: number): NoiseState {
    const decision = this.#decisions.get(`${route}\0${path}`)
    if (decision) return decision.decision === 'confirm' ? 'confirmed' : 'rejected'
    if (tally.lastConfirmed === null) return 'watching'
    return now < tally.lastConfirmed + this.#settings.ttlMs ? 'learned' : 'expired'
  }

  #slot(tally: Tally, now: number): { start: number; differences: number; covers: number } {
    const width = this.#settings.windowMs / SLOTS
    const start = Math.floor(now / width) * width
    let slot = tally.slots.at(-1)
    if (!slot || slot.start !== start) {
      tally.slots.push((slot = { start, differences: 0, covers: 0 }))
      while (tally.slots.length > 0 && (tally.slots[0]?.start ?? start) <= start - this.#settings.windowMs) tally.slots.shift()
    }
    return slot
  }

  #window(tally: Tally, now: number): { differences: number; covers: number } {
    let differences = 0
    let covers = 0
    for (const slot of tally.slots) {
      if (slot.start <= now - this.#settings.windowMs) continue
      differences += slot.differences
      covers += slot.covers
    }
    return { differences, covers }
  }
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('\0')
  return [key.slice(0, at), key.slice(at + 1)]
}
