import { CATEGORIES, type Category } from '../compare/classify.ts'
import type { Comparison } from '../compare/comparison.ts'
import type { SliceConfig } from '../config/types.ts'
import { EventDedup } from './event-dedup.ts'
import { DEFAULT_READINESS, compared, verdict, wilson, type RateInterval, type ReadinessThresholds, type Verdict } from './readiness.ts'
import { DEFAULT_BUCKET_MS, SliceAggregate } from './slice-aggregate.ts'

export const REPORT_VERSION = 1
const TOP_PATHS = 10
const TOP_UNTRANSLATED = 20

/** A time window; either end may be open. */
export interface Window {
  readonly from: number | null
  readonly to: number | null
}

/**
 * Feeds comparisons into per-slice aggregates: drops duplicates (same event id) and records
 * outside the window, in bounded memory.
 */
export class ReportAggregator {
  readonly slices = new Map<string, SliceAggregate>()
  readonly #dedup = new EventDedup()
  readonly #window: Window
  readonly #bucketMs: number
  #read = 0
  #outside = 0

  constructor(options: { window?: Window; bucketMs?: number } = {}) {
    this.#window = options.window ?? { from: null, to: null }
    this.#bucketMs = options.bucketMs ?? DEFAULT_BUCKET_MS
  }

  get counts(): { read: number; duplicates: number; outsideWindow: number } {
    return { read: this.#read, duplicates: this.#dedup.duplicates, outsideWindow: this.#outside }
  }

  add(record: Comparison): void {
    this.#read += 1
    const time = Date.parse(record.eventTime)
    if ((this.#window.from !== null && time < this.#window.from) || (this.#window.to !== null && time >= this.#window.to)) {
      this.#outside += 1
      return
    }
    if (!this.#dedup.first(record.eventId)) return
    let aggregate = this.slices.get(record.slice)
    if (!aggregate) this.slices.set(record.slice, (aggregate = new SliceAggregate(record.slice, this.#bucketMs)))
    aggregate.add(record)
  }
}

export interface LatencySummary {
  readonly count: number
  readonly p50: number | null
  readonly p95: number | null
  readonly p99: number | null
}

/** One slice in a report: the stable shape `ficus report --format json` prints (docs/reports.md). */
export interface SliceReport {
  readonly slice: string
  readonly description: string | null
  readonly records: number
  /** Compared samples: agree + disagree. */
  readonly samples: number
  readonly matchRate: RateInterval | null
  readonly categories: Readonly<Record<Category, number>>
  readonly shadowErrors: Readonly<Record<string, number>>
  readonly skipped: Readonly<Record<string, number>>
  readonly primaryErrors: Readonly<Record<string, number>>
  readonly routes: readonly { readonly route: string; readonly records: number; readonly samples: number; readonly matchRate: RateInterval | null; readonly categories: Readonly<Record<Category, number>> }[]
  readonly topPaths: readonly { readonly path: string; readonly count: number; readonly exampleRequestId: string }[]
  readonly otherPaths: number
  readonly untranslated: readonly { readonly path: string; readonly value: string; readonly count: number; readonly exampleRequestId: string }[]
  readonly latency: { readonly legacy: LatencySummary; readonly modern: LatencySummary; readonly relativeError: number }
  readonly errorRate: { readonly legacy: number | null; readonly modern: number | null }
  readonly timeline: readonly { readonly start: string; readonly agree: number; readonly disagree: number; readonly notCompared: number; readonly matchRate: number | null }[]
  readonly firstSample: string | null
  readonly lastSample: string | null
  readonly readiness: Verdict & { readonly thresholds: ReadinessThresholds }
}

export interface Report {
  readonly reportVersion: typeof REPORT_VERSION
  readonly generatedAt: string
  readonly source: string
  readonly window: { readonly from: string | null; readonly to: string | null }
  readonly read: number
  readonly duplicates: number
  readonly outsideWindow: number
  readonly slices: readonly SliceReport[]
}

function latency(aggregate: SliceAggregate, side: 'legacy' | 'modern'): LatencySummary {
  const histogram = aggregate.latency[side]
  const round = (value: number | null): number | null => (value === null ? null : Math.round(value * 100) / 100)
  return { count: histogram.count, p50: round(histogram.quantile(0.5)), p95: round(histogram.quantile(0.95)), p99: round(histogram.quantile(0.99)) }
}

function causes(aggregate: SliceAggregate, category: Category): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, count] of aggregate.causes) if (key.startsWith(`${category}:`)) out[key.slice(category.length + 1)] = count
  return out
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** The report of one slice from its aggregate and thresholds. Pure. */
export function sliceReport(aggregate: SliceAggregate, slice: Pick<SliceConfig, 'description' | 'readiness'> | undefined): SliceReport {
  const { agree, disagree } = compared(aggregate)
  const thresholds = slice?.readiness ?? DEFAULT_READINESS
  return {
    slice: aggregate.slice,
    description: slice?.description ?? null,
    records: aggregate.records,
    samples: agree + disagree,
    matchRate: wilson(agree, agree + disagree),
    categories: { ...aggregate.categories },
    shadowErrors: causes(aggregate, 'shadow-error'),
    skipped: causes(aggregate, 'shadow-skipped'),
    primaryErrors: causes(aggregate, 'primary-error'),
    routes: [...aggregate.routes].map(([route, counts]) => {
      const routeAgree = counts.match + counts.noise + counts['timing-lag']
      const routeSamples = routeAgree + counts['status-mismatch'] + counts['body-mismatch'] + counts.untranslated
      return { route, records: CATEGORIES.reduce((sum, category) => sum + counts[category], 0), samples: routeSamples, matchRate: wilson(routeAgree, routeSamples), categories: { ...counts } }
    }),
    topPaths: [...aggregate.paths]
      .sort(([a, x], [b, y]) => y.count - x.count || a.localeCompare(b))
      .slice(0, TOP_PATHS)
      .map(([path, entry]) => ({ path, count: entry.count, exampleRequestId: entry.example })),
    otherPaths: aggregate.otherPaths,
    untranslated: [...aggregate.untranslated.values()]
      .sort((x, y) => y.count - x.count || x.path.localeCompare(y.path))
      .slice(0, TOP_UNTRANSLATED)
      .map((entry) => ({ path: entry.path, value: entry.value, count: entry.count, exampleRequestId: entry.example })),
    latency: { legacy: latency(aggregate, 'legacy'), modern: latency(aggregate, 'modern'), relativeError: 0.02 },
    errorRate: {
      legacy: aggregate.calls.legacy === 0 ? null : aggregate.errors.legacy / aggregate.calls.legacy,
      modern: aggregate.calls.modern === 0 ? null : aggregate.errors.modern / aggregate.calls.modern,
    },
    timeline: [...aggregate.timeline]
      .sort(([a], [b]) => a - b)
      .map(([start, bucket]) => ({
        start: new Date(start).toISOString(),
        ...bucket,
        matchRate: bucket.agree + bucket.disagree === 0 ? null : bucket.agree / (bucket.agree + bucket.disagree),
      })),
    firstSample: iso(aggregate.first),
    lastSample: iso(aggregate.last),
    readiness: { ...verdict(aggregate, thresholds), thresholds },
  }
}

/** The whole report: every slice the config declares (empty ones too), then any others seen. */
export function buildReport(aggregator: ReportAggregator, slices: readonly SliceConfig[], options: { source: string; window: Window; slice?: string }): Report {
  const byId = new Map(slices.map((slice) => [slice.id, slice]))
  const ids = [...new Set([...slices.map((slice) => slice.id), ...aggregator.slices.keys()])].filter((id) => options.slice === undefined || id === options.slice)
  return {
    reportVersion: REPORT_VERSION,
    generatedAt: new Date().toISOString(),
    source: options.source,
    window: { from: iso(options.window.from), to: iso(options.window.to) },
    ...aggregator.counts,
    slices: ids.map((id) => sliceReport(aggregator.slices.get(id) ?? new SliceAggregate(id), byId.get(id))),
  }
}
