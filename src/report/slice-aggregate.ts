import { CATEGORIES, OUTCOME_OF, type Category } from '../compare/classify.ts'
import type { Comparison, SideRecord } from '../compare/comparison.ts'
import { LatencyHistogram, type HistogramJson } from './latency-histogram.ts'

/** Distinct diff paths and untranslated values kept per slice; beyond, they are counted as "other". */
export const MAX_TRACKED_PATHS = 500
export const DEFAULT_BUCKET_MS = 60 * 60 * 1000

type Side = 'legacy' | 'modern'
type Counts = Record<Category, number>

function zeroCounts(): Counts {
  return Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Counts
}

function addCounts(into: Counts, from: Readonly<Counts>): void {
  for (const category of CATEGORIES) into[category] += from[category]
}

export interface TimelineBucket {
  agree: number
  disagree: number
  notCompared: number
}

export interface SliceAggregateJson {
  readonly slice: string
  readonly bucketMs: number
  readonly categories: Counts
  readonly causes: Record<string, number>
  readonly routes: Record<string, Counts>
  readonly paths: Record<string, { count: number; example: string }>
  readonly otherPaths: number
  readonly untranslated: Record<string, { path: string; value: string; count: number; example: string }>
  readonly otherUntranslated: number
  readonly latency: Record<Side, HistogramJson>
  readonly calls: Record<Side, number>
  readonly errors: Record<Side, number>
  readonly timeline: Record<string, TimelineBucket>
  readonly first: number | null
  readonly last: number | null
}

/**
 * Everything a report needs about one slice, in bounded memory: counters, capped maps of paths and
 * untranslated values, latency histograms and time buckets. Mergeable (partitions, files) and
 * serialisable (the reporter keeps it in Redis). Pure.
 */
export class SliceAggregate {
  readonly slice: string
  readonly bucketMs: number
  readonly categories = zeroCounts()
  /** `<category>:<cause>` → count, for errors and skips. */
  readonly causes = new Map<string, number>()
  readonly routes = new Map<string, Counts>()
  readonly paths = new Map<string, { count: number; example: string }>()
  otherPaths = 0
  readonly untranslated = new Map<string, { path: string; value: string; count: number; example: string }>()
  otherUntranslated = 0
  readonly latency: Record<Side, LatencyHistogram> = { legacy: new LatencyHistogram(), modern: new LatencyHistogram() }
  /** Calls made to each side (answered or failed), and those that failed (no answer, or 5xx). */
  readonly calls: Record<Side, number> = { legacy: 0, modern: 0 }
  readonly errors: Record<Side, number> = { legacy: 0, modern: 0 }
  readonly timeline = new Map<number, TimelineBucket>()
  first: number | null = null
  last: number | null = null

  constructor(slice: string, bucketMs = DEFAULT_BUCKET_MS) {
    this.slice = slice
    this.bucketMs = bucketMs
  }

  get records(): number {
    return CATEGORIES.reduce((sum, category) => sum + this.categories[category], 0)
  }

  add(record: Comparison): void {
    const category = record.category
    this.categories[category] += 1
    if (record.cause !== null && OUTCOME_OF[category] === 'not-compared') this.#count(this.causes, `${category}:${record.cause}`)
    let route = this.routes.get(record.route)
    if (!route) this.routes.set(record.route, (route = zeroCounts()))
    route[category] += 1

    if (OUTCOME_OF[category] === 'disagree') {
      for (const entry of record.diff) {
        const known = this.paths.get(entry.path)
        if (known) known.count += 1
        else if (this.paths.size < MAX_TRACKED_PATHS) this.paths.set(entry.path, { count: 1, example: record.requestId })
        else this.otherPaths += 1
      }
    }
    for (const item of record.untranslated) {
      const value = item.value === undefined ? (item.valueHash ?? '') : typeof item.value === 'string' ? item.value : JSON.stringify(item.value)
      const key = `${item.path}\0${value}`
      const known = this.untranslated.get(key)
      if (known) known.count += 1
      else if (this.untranslated.size < MAX_TRACKED_PATHS) this.untranslated.set(key, { path: item.path, value, count: 1, example: record.requestId })
      else this.otherUntranslated += 1
    }
    for (const side of [record.primary, record.shadow]) this.#side(side)

    const time = Date.parse(record.eventTime)
    if (Number.isFinite(time)) {
      this.first = this.first === null ? time : Math.min(this.first, time)
      this.last = this.last === null ? time : Math.max(this.last, time)
      const start = Math.floor(time / this.bucketMs) * this.bucketMs
      let bucket = this.timeline.get(start)
      if (!bucket) this.timeline.set(start, (bucket = { agree: 0, disagree: 0, notCompared: 0 }))
      const outcome = OUTCOME_OF[category]
      if (outcome === 'agree') bucket.agree += 1
      else if (outcome === 'disagree') bucket.disagree += 1
      else bucket.notCompared += 1
    }
  }

  #side(side: SideRecord): void {
    // A skipped shadow was never called.
    if (side.status === null && (side.error === null || side.error === 'queue-full' || side.error === 'request-body-over-cap')) return
    this.calls[side.side] += 1
    if (side.status === null || side.status >= 500) this.errors[side.side] += 1
    if (side.status !== null && side.latencyMs !== null) this.latency[side.side].add(side.latencyMs)
  }

  #count(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by)
  }

  merge(other: SliceAggregate): void {
    addCounts(this.categories, other.categories)
    for (const [key, count] of other.causes) this.#count(this.causes, key, count)
    for (const [route, counts] of other.routes) {
      const mine = this.routes.get(route)
      if (mine) addCounts(mine, counts)
      else this.routes.set(route, { ...counts })
    }
    for (const [path, entry] of other.paths) {
      const mine = this.paths.get(path)
      if (mine) mine.count += entry.count
      else if (this.paths.size < MAX_TRACKED_PATHS) this.paths.set(path, { ...entry })
      else this.otherPaths += entry.count
    }
    this.otherPaths += other.otherPaths
    for (const [key, entry] of other.untranslated) {
      const mine = this.untranslated.get(key)
      if (mine) mine.count += entry.count
      else if (this.untranslated.size < MAX_TRACKED_PATHS) this.untranslated.set(key, { ...entry })
      else this.otherUntranslated += entry.count
    }
    this.otherUntranslated += other.otherUntranslated
    for (const side of ['legacy', 'modern'] as const) {
      this.latency[side].merge(other.latency[side])
      this.calls[side] += other.calls[side]
      this.errors[side] += other.errors[side]
    }
    for (const [start, bucket] of other.timeline) {
      const mine = this.timeline.get(start)
      if (mine) {
        mine.agree += bucket.agree
        mine.disagree += bucket.disagree
        mine.notCompared += bucket.notCompared
      } else this.timeline.set(start, { ...bucket })
    }
    if (other.first !== null) this.first = this.first === null ? other.first : Math.min(this.first, other.first)
    if (other.last !== null) this.last = this.last === null ? other.last : Math.max(this.last, other.last)
  }

  toJSON(): SliceAggregateJson {
    return {
      slice: this.slice,
      bucketMs: this.bucketMs,
      categories: { ...this.categories },
      causes: Object.fromEntries(this.causes),
      routes: Object.fromEntries(this.routes),
      paths: Object.fromEntries(this.paths),
      otherPaths: this.otherPaths,
      untranslated: Object.fromEntries(this.untranslated),
      otherUntranslated: this.otherUntranslated,
      latency: { legacy: this.latency.legacy.toJSON(), modern: this.latency.modern.toJSON() },
      calls: { ...this.calls },
      errors: { ...this.errors },
      timeline: Object.fromEntries(this.timeline),
      first: this.first,
      last: this.last,
    }
  }

  static fromJSON(json: SliceAggregateJson): SliceAggregate {
    const aggregate = new SliceAggregate(json.slice, json.bucketMs)
    addCounts(aggregate.categories, json.categories)
    for (const [key, count] of Object.entries(json.causes)) aggregate.causes.set(key, count)
    for (const [route, counts] of Object.entries(json.routes)) aggregate.routes.set(route, { ...zeroCounts(), ...counts })
    for (const [path, entry] of Object.entries(json.paths)) aggregate.paths.set(path, { ...entry })
    aggregate.otherPaths = json.otherPaths
    for (const [key, entry] of Object.entries(json.untranslated)) aggregate.untranslated.set(key, { ...entry })
    aggregate.otherUntranslated = json.otherUntranslated
    for (const side of ['legacy', 'modern'] as const) {
      aggregate.latency[side].merge(LatencyHistogram.fromJSON(json.latency[side]))
      aggregate.calls[side] = json.calls[side]
      aggregate.errors[side] = json.errors[side]
    }
    for (const [start, bucket] of Object.entries(json.timeline)) aggregate.timeline.set(Number(start), { ...bucket })
    aggregate.first = json.first
    aggregate.last = json.last
    return aggregate
  }
}
