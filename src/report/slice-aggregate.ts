import { CATEGORIES, FAMILIES, FAMILY_OF, OUTCOME_OF_FAMILY, type Category, type Family } from '../compare/classify.ts'
import { ORIGINS, type Comparison, type Origin, type SideRecord } from '../compare/comparison.ts'
import type { ShadowSkips } from '../publish/shadow-skips.ts'
import { signatureOf, type RegisteredFamily } from '../register/discrepancy-signature.ts'
import { LatencyHistogram, type HistogramJson } from './latency-histogram.ts'
import { Timeline, type TimelineJson } from './timeline.ts'

/** Distinct diff paths, untranslated values and violations kept per aggregate; beyond, counted as "other". */
export const MAX_TRACKED_PATHS = 500
/** Width of the evidence buckets readiness windows are cut from. */
export const EVIDENCE_BUCKET_MS = 60 * 60 * 1000
/** The rules hash of records written before comparisons carried one. */
export const UNVERSIONED = 'unversioned'
/**
 * Discrepancy signatures counted apart per aggregate; the differing comparisons of any other (and
 * of records without a signature) are counted as unsigned, which no triage can accept.
 */
export const MAX_SIGNATURES = 1_000

type Side = 'legacy' | 'modern'
type CategoryCounts = Record<Category, number>
type FamilyCounts = Record<Family, number>

/** Skips and an open breaker are no call to a side: they never count as its errors. */
const NOT_CALLED = new Set(['queue-full', 'request-body-over-cap', 'breaker-open', 'unsafe-write', 'client-closed'])

const zero = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>
function add<K extends string>(into: Record<K, number>, from: Readonly<Partial<Record<K, number>>>): void {
  for (const [key, count] of Object.entries(from) as [K, number][]) into[key] = (into[key] ?? 0) + count
}

/** The family of a record (records written before families existed are given theirs). */
export function familyOf(record: Pick<Comparison, 'category'> & { readonly family?: Family }): Family {
  return record.family ?? FAMILY_OF[record.category]
}

export function rulesOf(record: { readonly rulesHash?: string }): string {
  return record.rulesHash ?? UNVERSIONED
}

/** One hour of evidence: what readiness is judged on, cut to its window. */
export interface EvidenceBucket {
  readonly families: FamilyCounts
  readonly calls: Record<Side, number>
  readonly errors: Record<Side, number>
  readonly latency: Record<Side, LatencyHistogram>
  readonly lag: LatencyHistogram
  /** Signature id → differing comparisons of it; those of no counted signature go to `unsigned`. */
  readonly signatures: Map<string, number>
  unsigned: number
  first: number
  last: number
}

interface EvidenceBucketJson {
  readonly families: Partial<FamilyCounts>
  readonly calls: Record<Side, number>
  readonly errors: Record<Side, number>
  readonly latency: Record<Side, HistogramJson>
  readonly lag: HistogramJson
  readonly signatures?: Record<string, number>
  readonly unsigned?: number
  readonly first: number
  readonly last: number
}

function emptyBucket(time: number): EvidenceBucket {
  return {
    families: zero(FAMILIES),
    calls: { legacy: 0, modern: 0 },
    errors: { legacy: 0, modern: 0 },
    latency: { legacy: new LatencyHistogram(), modern: new LatencyHistogram() },
    lag: new LatencyHistogram(),
    signatures: new Map(),
    unsigned: 0,
    first: time,
    last: time,
  }
}

/** Merges `from` into `into`; signatures `counted` does not admit are counted as unsigned. */
function mergeBucket(into: EvidenceBucket, from: EvidenceBucket, counted: (id: string) => boolean = () => true): void {
  add(into.families, from.families)
  for (const [id, count] of from.signatures)
    if (counted(id)) into.signatures.set(id, (into.signatures.get(id) ?? 0) + count)
    else into.unsigned += count
  into.unsigned += from.unsigned
  for (const side of ['legacy', 'modern'] as const) {
    into.calls[side] += from.calls[side]
    into.errors[side] += from.errors[side]
    into.latency[side].merge(from.latency[side])
  }
  into.lag.merge(from.lag)
  into.first = Math.min(into.first, from.first)
  into.last = Math.max(into.last, from.last)
}

/** Differing comparisons of one signature in a window, and the start of the first hour it was seen in. */
export interface WindowedSignature {
  readonly family: RegisteredFamily
  readonly count: number
  readonly first: number
}

/** The evidence of a window, summed: families, side calls and errors, latencies, lags, signatures, span. */
export type Evidence = Omit<EvidenceBucket, 'first' | 'last' | 'signatures'> & {
  readonly signatures: ReadonlyMap<string, WindowedSignature>
  readonly first: number | null
  readonly last: number | null
}

export interface SliceAggregateJson {
  readonly slice: string
  readonly rulesHash?: string
  readonly translationVersion?: string | null
  readonly categories: Partial<CategoryCounts>
  readonly families?: Partial<FamilyCounts>
  /** Comparisons by what caused them (absent in aggregates saved before comparisons said: all live). */
  readonly origins?: Partial<Record<Origin, number>>
  readonly causes: Record<string, number>
  readonly routes: Record<string, Partial<FamilyCounts>>
  readonly paths: Record<string, { count: number; example: string }>
  readonly otherPaths: number
  readonly untranslated: Record<string, { path: string; value: string; count: number; example: string }>
  readonly otherUntranslated: number
  readonly violations?: Record<string, { path: string; rule: string; count: number; example: string }>
  readonly noisePaths?: Record<string, number>
  readonly latency: Record<Side, HistogramJson>
  readonly lag?: HistogramJson
  readonly calls: Record<Side, number>
  readonly errors: Record<Side, number>
  readonly timeline?: TimelineJson
  readonly evidence?: Record<string, EvidenceBucketJson>
  readonly signatures?: Record<string, { family: RegisteredFamily; count: number }>
  readonly unsigned?: number
  readonly first: number | null
  readonly last: number | null
}

/**
 * Everything a report needs about one slice under one rules version, in bounded memory: counters
 * by family and category, capped maps of differing paths, untranslated values and rule
 * violations, latency and lag histograms, an adaptive timeline, and hourly evidence buckets that
 * readiness windows are cut from. Mergeable (partitions, files) and serialisable (the reporter
 * keeps it in Redis). Pure.
 */
export class SliceAggregate {
  readonly slice: string
  readonly rulesHash: string
  translationVersion: string | null = null
  readonly categories = zero(CATEGORIES)
  readonly families = zero(FAMILIES)
  /** Comparisons by what caused them: live traffic, reconciliation runs, replays. */
  readonly origins = zero(ORIGINS)
  /** `<family>:<cause>` → count: errors, skips, what was not compared, rules broken, lags beyond the re-asks. */
  readonly causes = new Map<string, number>()
  readonly routes = new Map<string, FamilyCounts>()
  /** `<family>\0<path>` of disagreeing comparisons → count and an example request id. */
  readonly paths = new Map<string, { count: number; example: string }>()
  otherPaths = 0
  readonly untranslated = new Map<string, { path: string; value: string; count: number; example: string }>()
  otherUntranslated = 0
  readonly violations = new Map<string, { path: string; rule: string; count: number; example: string }>()
  /** Paths put down to noise → comparisons they were masked in. */
  readonly noisePaths = new Map<string, number>()
  readonly latency: Record<Side, LatencyHistogram> = { legacy: new LatencyHistogram(), modern: new LatencyHistogram() }
  readonly lag = new LatencyHistogram()
  /** Calls made to each side (answered or failed), and those that failed (no answer, or 5xx). */
  readonly calls: Record<Side, number> = { legacy: 0, modern: 0 }
  readonly errors: Record<Side, number> = { legacy: 0, modern: 0 }
  readonly timeline = new Timeline()
  readonly evidence = new Map<number, EvidenceBucket>()
  /** Signature id → its family and differing comparisons (at most MAX_SIGNATURES), for triage. */
  readonly signatures = new Map<string, { readonly family: RegisteredFamily; count: number }>()
  /** Differing comparisons of no counted signature: always disagreement. */
  unsigned = 0
  first: number | null = null
  last: number | null = null

  constructor(slice: string, rulesHash: string = UNVERSIONED) {
    this.slice = slice
    this.rulesHash = rulesHash
  }

  get records(): number {
    return FAMILIES.reduce((sum, family) => sum + this.families[family], 0)
  }

  add(record: Comparison): void {
    const family = familyOf(record)
    const outcome = OUTCOME_OF_FAMILY[family]
    this.categories[record.category] += 1
    this.families[family] += 1
    // Records written before comparisons said what caused them are live traffic's.
    this.origins[ORIGINS.includes(record.origin) ? record.origin : 'live'] += 1
    if (record.translationVersion !== undefined) this.translationVersion = record.translationVersion
    if (record.cause !== null && family !== 'match') this.#count(this.causes, `${family}:${record.cause}`)
    let route = this.routes.get(record.route)
    if (!route) this.routes.set(record.route, (route = zero(FAMILIES)))
    route[family] += 1

    if (outcome === 'disagree')
      for (const entry of record.diff) this.#track(this.paths, `${family}\0${entry.path}`, () => ({ count: 1, example: record.requestId }), 'paths')
    for (const item of record.untranslated) {
      const value = item.value === undefined ? (item.valueHash ?? '') : typeof item.value === 'string' ? item.value : JSON.stringify(item.value)
      this.#track(this.untranslated, `${item.path}\0${value}`, () => ({ path: item.path, value, count: 1, example: record.requestId }), 'untranslated')
    }
    for (const violation of record.violations ?? []) {
      this.#track(
        this.violations,
        `${violation.rule}\0${violation.path}`,
        () => ({ path: violation.path, rule: violation.rule, count: 1, example: record.requestId }),
        'violations',
      )
    }
    for (const path of record.noisePaths) if (this.noisePaths.has(path) || this.noisePaths.size < MAX_TRACKED_PATHS) this.#count(this.noisePaths, path)

    const time = Date.parse(record.eventTime)
    const known = Number.isFinite(time)
    let bucket: EvidenceBucket | undefined
    if (known) {
      this.first = this.first === null ? time : Math.min(this.first, time)
      this.last = this.last === null ? time : Math.max(this.last, time)
      this.timeline.add(time, outcome)
      const start = Math.floor(time / EVIDENCE_BUCKET_MS) * EVIDENCE_BUCKET_MS
      bucket = this.evidence.get(start)
      if (!bucket) this.evidence.set(start, (bucket = emptyBucket(time)))
      bucket.families[family] += 1
      bucket.first = Math.min(bucket.first, time)
      bucket.last = Math.max(bucket.last, time)
    }
    if (outcome === 'disagree') this.#countSignature(record, bucket)
    // A replay called no side: its latencies, statuses and errors are the original comparison's, counted with it.
    if (record.origin !== 'replay') for (const side of [record.primary, record.shadow]) this.#side(side, bucket)
    if (family === 'timing-lag' && typeof record.lagMs === 'number') {
      this.lag.add(record.lagMs)
      bucket?.lag.add(record.lagMs)
    }
  }

  /**
   * The skips of a ShadowSkips event: each one is counted as a `shadow-skipped` record of live
   * traffic with its cause, at the end of the event's window (its hour of evidence, its timeline
   * bucket), exactly as a skip recorded one by one was — except that skips are counted per slice,
   * not per route. A skip is no call to a side: no call, error or latency is counted.
   */
  addSkips(event: ShadowSkips): void {
    let total = 0
    for (const [cause, count] of Object.entries(event.counts)) {
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0) continue
      total += count
      this.#count(this.causes, `shadow-skipped:${cause}`, count)
    }
    if (total === 0) return
    this.categories['shadow-skipped'] += total
    this.families['shadow-skipped'] += total
    this.origins.live += total
    const time = Date.parse(event.windowEnd)
    if (!Number.isFinite(time)) return
    this.first = this.first === null ? time : Math.min(this.first, time)
    this.last = this.last === null ? time : Math.max(this.last, time)
    this.timeline.add(time, 'not-compared', total)
    const start = Math.floor(time / EVIDENCE_BUCKET_MS) * EVIDENCE_BUCKET_MS
    let bucket = this.evidence.get(start)
    if (!bucket) this.evidence.set(start, (bucket = emptyBucket(time)))
    bucket.families['shadow-skipped'] += total
    bucket.first = Math.min(bucket.first, time)
    bucket.last = Math.max(bucket.last, time)
  }

  /** The evidence of `[from, to)` (ms; by hour), for readiness. */
  windowed(from: number | null, to: number | null): Evidence {
    const sum = emptyBucket(0)
    const signatures = new Map<string, WindowedSignature>()
    let first: number | null = null
    let last: number | null = null
    for (const [start, bucket] of this.evidence) {
      if ((from !== null && start + EVIDENCE_BUCKET_MS <= from) || (to !== null && start >= to)) continue
      mergeBucket(sum, bucket)
      first = first === null ? bucket.first : Math.min(first, bucket.first)
      last = last === null ? bucket.last : Math.max(last, bucket.last)
      for (const [id, count] of bucket.signatures) {
        const family = this.signatures.get(id)?.family
        const seen = signatures.get(id)
        if (family !== undefined) signatures.set(id, { family, count: (seen?.count ?? 0) + count, first: Math.min(seen?.first ?? start, start) })
      }
    }
    return { ...sum, signatures, first, last }
  }

  /** Counts a differing comparison under its signature, or as unsigned once MAX_SIGNATURES are counted. */
  #countSignature(record: Comparison, bucket: EvidenceBucket | undefined): void {
    const signature = signatureOf(record)
    const counted = signature === undefined ? undefined : this.#admit(signature.id, signature.family)
    if (!signature || !counted) {
      this.unsigned += 1
      if (bucket) bucket.unsigned += 1
      return
    }
    counted.count += 1
    bucket?.signatures.set(signature.id, (bucket.signatures.get(signature.id) ?? 0) + 1)
  }

  /** The counter of a signature, made when there is room; undefined when there is none. */
  #admit(id: string, family: RegisteredFamily): { count: number } | undefined {
    let counted = this.signatures.get(id)
    if (!counted && this.signatures.size < MAX_SIGNATURES) this.signatures.set(id, (counted = { family, count: 0 }))
    return counted
  }

  /** Drops evidence buckets that end before `time` (the reporter keeps a bounded history). */
  pruneBefore(time: number): void {
    for (const start of this.evidence.keys()) if (start + EVIDENCE_BUCKET_MS <= time) this.evidence.delete(start)
  }

  #side(side: SideRecord, bucket: EvidenceBucket | undefined): void {
    if (side.status === null && (side.error === null || NOT_CALLED.has(side.error))) return
    const failed = side.status === null || side.status >= 500
    this.calls[side.side] += 1
    if (failed) this.errors[side.side] += 1
    if (side.status !== null && side.latencyMs !== null) this.latency[side.side].add(side.latencyMs)
    if (!bucket) return
    bucket.calls[side.side] += 1
    if (failed) bucket.errors[side.side] += 1
    if (side.status !== null && side.latencyMs !== null) bucket.latency[side.side].add(side.latencyMs)
  }

  #count(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by)
  }

  #track<T extends { count: number }>(map: Map<string, T>, key: string, create: () => T, kind: 'paths' | 'untranslated' | 'violations', by = 1): void {
    const known = map.get(key)
    if (known) known.count += by
    else if (map.size < MAX_TRACKED_PATHS) map.set(key, { ...create(), count: by })
    else if (kind === 'paths') this.otherPaths += by
    else if (kind === 'untranslated') this.otherUntranslated += by
  }

  merge(other: SliceAggregate): void {
    if (other.translationVersion !== null && (other.last ?? 0) >= (this.last ?? 0)) this.translationVersion = other.translationVersion
    add(this.categories, other.categories)
    add(this.families, other.families)
    add(this.origins, other.origins)
    for (const [key, count] of other.causes) this.#count(this.causes, key, count)
    for (const [route, counts] of other.routes) {
      const mine = this.routes.get(route)
      if (mine) add(mine, counts)
      else this.routes.set(route, { ...counts })
    }
    for (const [key, entry] of other.paths) this.#track(this.paths, key, () => ({ ...entry }), 'paths', entry.count)
    this.otherPaths += other.otherPaths
    for (const [key, entry] of other.untranslated) this.#track(this.untranslated, key, () => ({ ...entry }), 'untranslated', entry.count)
    this.otherUntranslated += other.otherUntranslated
    for (const [key, entry] of other.violations) this.#track(this.violations, key, () => ({ ...entry }), 'violations', entry.count)
    for (const [path, count] of other.noisePaths)
      if (this.noisePaths.has(path) || this.noisePaths.size < MAX_TRACKED_PATHS) this.#count(this.noisePaths, path, count)
    for (const side of ['legacy', 'modern'] as const) {
      this.latency[side].merge(other.latency[side])
      this.calls[side] += other.calls[side]
      this.errors[side] += other.errors[side]
    }
    this.lag.merge(other.lag)
    this.timeline.merge(other.timeline)
    for (const [id, { family, count }] of other.signatures) {
      const counted = this.#admit(id, family)
      if (counted) counted.count += count
      else this.unsigned += count
    }
    this.unsigned += other.unsigned
    const counted = (id: string): boolean => this.signatures.has(id)
    for (const [start, bucket] of other.evidence) {
      const mine = this.evidence.get(start)
      if (mine) mergeBucket(mine, bucket, counted)
      else {
        const copy = emptyBucket(bucket.first)
        mergeBucket(copy, bucket, counted)
        this.evidence.set(start, copy)
      }
    }
    if (other.first !== null) this.first = this.first === null ? other.first : Math.min(this.first, other.first)
    if (other.last !== null) this.last = this.last === null ? other.last : Math.max(this.last, other.last)
  }

  toJSON(): SliceAggregateJson {
    return {
      slice: this.slice,
      rulesHash: this.rulesHash,
      translationVersion: this.translationVersion,
      categories: { ...this.categories },
      families: { ...this.families },
      origins: { ...this.origins },
      causes: Object.fromEntries(this.causes),
      routes: Object.fromEntries(this.routes),
      paths: Object.fromEntries(this.paths),
      otherPaths: this.otherPaths,
      untranslated: Object.fromEntries(this.untranslated),
      otherUntranslated: this.otherUntranslated,
      violations: Object.fromEntries(this.violations),
      noisePaths: Object.fromEntries(this.noisePaths),
      latency: { legacy: this.latency.legacy.toJSON(), modern: this.latency.modern.toJSON() },
      lag: this.lag.toJSON(),
      calls: { ...this.calls },
      errors: { ...this.errors },
      timeline: this.timeline.toJSON(),
      evidence: Object.fromEntries(
        [...this.evidence].map(([start, bucket]) => [
          String(start),
          {
            families: { ...bucket.families },
            calls: { ...bucket.calls },
            errors: { ...bucket.errors },
            latency: { legacy: bucket.latency.legacy.toJSON(), modern: bucket.latency.modern.toJSON() },
            lag: bucket.lag.toJSON(),
            signatures: Object.fromEntries(bucket.signatures),
            unsigned: bucket.unsigned,
            first: bucket.first,
            last: bucket.last,
          },
        ]),
      ),
      signatures: Object.fromEntries([...this.signatures].map(([id, { family, count }]) => [id, { family, count }])),
      unsigned: this.unsigned,
      first: this.first,
      last: this.last,
    }
  }

  static fromJSON(json: SliceAggregateJson): SliceAggregate {
    const aggregate = new SliceAggregate(json.slice, json.rulesHash ?? UNVERSIONED)
    aggregate.translationVersion = json.translationVersion ?? null
    add(aggregate.categories, json.categories)
    // Aggregates saved before families existed: derive them from the categories.
    if (json.families) add(aggregate.families, json.families)
    else for (const category of CATEGORIES) aggregate.families[FAMILY_OF[category]] += json.categories[category] ?? 0
    // Aggregates saved before origins were counted: every comparison was live traffic's.
    if (json.origins) add(aggregate.origins, json.origins)
    else aggregate.origins.live = aggregate.records
    for (const [key, count] of Object.entries(json.causes)) aggregate.causes.set(key, count)
    for (const [route, counts] of Object.entries(json.routes)) aggregate.routes.set(route, { ...zero(FAMILIES), ...counts })
    for (const [path, entry] of Object.entries(json.paths)) aggregate.paths.set(path, { ...entry })
    aggregate.otherPaths = json.otherPaths
    for (const [key, entry] of Object.entries(json.untranslated)) aggregate.untranslated.set(key, { ...entry })
    aggregate.otherUntranslated = json.otherUntranslated
    for (const [key, entry] of Object.entries(json.violations ?? {})) aggregate.violations.set(key, { ...entry })
    for (const [path, count] of Object.entries(json.noisePaths ?? {})) aggregate.noisePaths.set(path, count)
    for (const side of ['legacy', 'modern'] as const) {
      aggregate.latency[side].merge(LatencyHistogram.fromJSON(json.latency[side]))
      aggregate.calls[side] = json.calls[side]
      aggregate.errors[side] = json.errors[side]
    }
    if (json.lag) aggregate.lag.merge(LatencyHistogram.fromJSON(json.lag))
    aggregate.timeline.merge(Timeline.fromJSON(json.timeline))
    for (const [start, bucket] of Object.entries(json.evidence ?? {})) {
      const restored = emptyBucket(bucket.first)
      add(restored.families, bucket.families)
      for (const side of ['legacy', 'modern'] as const) {
        restored.calls[side] = bucket.calls[side]
        restored.errors[side] = bucket.errors[side]
        restored.latency[side].merge(LatencyHistogram.fromJSON(bucket.latency[side]))
      }
      restored.lag.merge(LatencyHistogram.fromJSON(bucket.lag))
      for (const [id, count] of Object.entries(bucket.signatures ?? {})) restored.signatures.set(id, count)
      restored.unsigned = bucket.unsigned ?? 0
      restored.last = bucket.last
      aggregate.evidence.set(Number(start), restored)
    }
    // Aggregates saved before signatures were counted have none: their differences stay disagreement.
    for (const [id, { family, count }] of Object.entries(json.signatures ?? {})) aggregate.signatures.set(id, { family, count })
    aggregate.unsigned = json.unsigned ?? 0
    aggregate.first = json.first
    aggregate.last = json.last
    return aggregate
  }
}
