import { FAMILIES, type Category, type Family } from '../compare/classify.ts'
import type { Origin } from '../compare/comparison.ts'
import type { SliceConfig, SliceOwner } from '../config/types.ts'
import { isShadowSkips, type ComparisonsStreamEvent } from '../publish/shadow-skips.ts'
import { EventDedup } from './event-dedup.ts'
import { compared, DEFAULT_READINESS, evidenceWindow, verdict, wilson, type RateInterval, type ReadinessThresholds, type Verdict } from './readiness.ts'
import { rulesOf, SliceAggregate, UNVERSIONED } from './slice-aggregate.ts'
import { acceptedOf, TRIAGE_NOT_READ, triageSection, triageViews, type SliceTriage, type TriageSection } from './slice-triage.ts'
import type { LatencyHistogram } from './latency-histogram.ts'

export const REPORT_VERSION = 1
const TOP_PATHS = 10
const TOP_UNTRANSLATED = 20
const TOP_VIOLATIONS = 20
const TOP_NOISE = 20

/** A time window; either end may be open. */
export interface Window {
  readonly from: number | null
  readonly to: number | null
}

/**
 * Feeds comparisons, and the skip aggregates beside them, into aggregates per slice and rules
 * version: drops duplicates (same event id) and records outside the window (a ShadowSkips by the
 * end of its window), in bounded memory.
 */
export class ComparisonAggregator {
  /** Slice → rules hash → aggregate. */
  readonly slices = new Map<string, Map<string, SliceAggregate>>()
  readonly #dedup = new EventDedup()
  readonly #window: Window
  #read = 0
  #outside = 0

  constructor(options: { window?: Window } = {}) {
    this.#window = options.window ?? { from: null, to: null }
  }

  get counts(): { read: number; duplicates: number; outsideWindow: number } {
    return { read: this.#read, duplicates: this.#dedup.duplicates, outsideWindow: this.#outside }
  }

  add(record: ComparisonsStreamEvent): void {
    this.#read += 1
    const time = Date.parse(record.eventTime)
    if ((this.#window.from !== null && time < this.#window.from) || (this.#window.to !== null && time >= this.#window.to)) {
      this.#outside += 1
      return
    }
    if (!this.#dedup.first(record.eventId)) return
    if (isShadowSkips(record)) this.aggregate(record.slice, rulesOf(record)).addSkips(record)
    else this.aggregate(record.slice, rulesOf(record)).add(record)
  }

  /**
   * A comparison (or skip aggregate) this process has just made and written (a gateway's own evidence): its event id
   * is new, so it is counted without being remembered — a running gateway's dedup set would
   * otherwise grow by every comparison it makes, each entry kept until the heap's next full sweep.
   */
  addOwn(record: ComparisonsStreamEvent): void {
    this.#read += 1
    if (isShadowSkips(record)) this.aggregate(record.slice, rulesOf(record)).addSkips(record)
    else this.aggregate(record.slice, rulesOf(record)).add(record)
  }

  /** The aggregate of one slice under one rules version (created empty when new). */
  aggregate(slice: string, rulesHash: string): SliceAggregate {
    let versions = this.slices.get(slice)
    if (!versions) this.slices.set(slice, (versions = new Map<string, SliceAggregate>()))
    let aggregate = versions.get(rulesHash)
    if (!aggregate) versions.set(rulesHash, (aggregate = new SliceAggregate(slice, rulesHash)))
    return aggregate
  }

  /** Adds an aggregate (a reporter's partition) into these. */
  merge(aggregate: SliceAggregate): void {
    this.aggregate(aggregate.slice, aggregate.rulesHash).merge(aggregate)
  }
}

export interface LatencySummary {
  readonly count: number
  readonly p50: number | null
  readonly p95: number | null
  readonly p99: number | null
}

/** One rules version of a slice, side by side with the others. */
export interface RulesVersionSummary {
  readonly rulesHash: string
  readonly translationVersion: string | null
  readonly current: boolean
  readonly records: number
  readonly samples: number
  readonly matchRate: RateInterval | null
  readonly families: Readonly<Record<Family, number>>
  readonly firstSample: string | null
  readonly lastSample: string | null
}

/** One slice in a report: the stable shape `ficus report --format json` prints (docs/reports.md). */
export interface SliceReport {
  readonly slice: string
  readonly description: string | null
  /** The team that owns the slice's decision and its contact (from the config); null when none is named. */
  readonly owner: SliceOwner | null
  /** The rules version this report is of (the slice's current one unless chosen), and every version seen. */
  readonly rulesHash: string
  readonly translationVersion: string | null
  readonly rulesVersions: readonly RulesVersionSummary[]
  readonly records: number
  /** Compared samples agreement is taken over: agree + the three disagreeing families, accepted differences set apart. */
  readonly samples: number
  /** Differing comparisons (the three disagreeing families) not accepted. */
  readonly disagreements: number
  /** Differing comparisons whose signature is accepted now: counted apart, in neither agreement nor disagreement. */
  readonly accepted: number
  /** Agreement (noise forgiven), and without forgiving noise, over `samples`. */
  readonly matchRate: RateInterval | null
  readonly matchRateWithoutNoise: RateInterval | null
  readonly families: Readonly<Record<Family, number>>
  /** The comparisons by what caused them: live traffic, reconciliation runs (`ficus reconcile`), replays. */
  readonly origins: Readonly<Record<Origin, number>>
  readonly categories: Readonly<Record<Category, number>>
  /** Per family, its causes: errors, skips, what was not compared, rules broken. */
  readonly causes: Readonly<Partial<Record<Family, Readonly<Record<string, number>>>>>
  readonly shadowErrors: Readonly<Record<string, number>>
  readonly skipped: Readonly<Record<string, number>>
  readonly primaryErrors: Readonly<Record<string, number>>
  readonly notCompared: Readonly<Record<string, number>>
  readonly routes: readonly {
    readonly route: string
    readonly records: number
    readonly samples: number
    readonly matchRate: RateInterval | null
    readonly families: Readonly<Record<Family, number>>
  }[]
  readonly topPaths: readonly { readonly family: Family; readonly path: string; readonly count: number; readonly exampleRequestId: string }[]
  readonly otherPaths: number
  readonly untranslated: readonly { readonly path: string; readonly value: string; readonly count: number; readonly exampleRequestId: string }[]
  readonly violations: readonly { readonly path: string; readonly rule: string; readonly count: number; readonly exampleRequestId: string }[]
  readonly noise: readonly { readonly path: string; readonly comparisons: number }[]
  readonly latency: { readonly legacy: LatencySummary; readonly modern: LatencySummary; readonly relativeError: number }
  readonly lag: LatencySummary & { readonly buckets: readonly { readonly upToMs: number; readonly count: number }[] }
  readonly errorRate: { readonly legacy: number | null; readonly modern: number | null }
  readonly timeline: readonly {
    readonly start: string
    readonly widthMs: number
    readonly agree: number
    readonly disagree: number
    readonly notCompared: number
    readonly matchRate: number | null
  }[]
  /**
   * Each family per hour under the rules version shown, the last HOURLY_FAMILIES_HOURS hours with evidence,
   * oldest first: how agreement moves, family by family (drift after a flip, a fix taking hold).
   */
  readonly hourly: readonly { readonly start: string; readonly families: Readonly<Record<Family, number>>; readonly matchRate: number | null }[]
  readonly firstSample: string | null
  readonly lastSample: string | null
  readonly readiness: Verdict & { readonly thresholds: ReadinessThresholds }
  /** The slice's discrepancy register as triaged at the report's time: open, accepted, regressions. */
  readonly triage: TriageSection
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

const round2 = (value: number | null): number | null => (value === null ? null : Math.round(value * 100) / 100)

function summary(histogram: LatencyHistogram): LatencySummary {
  return { count: histogram.count, p50: round2(histogram.quantile(0.5)), p95: round2(histogram.quantile(0.95)), p99: round2(histogram.quantile(0.99)) }
}

/** A lag distribution a person reads: how many converged within 100 ms, 250 ms, … */
const LAG_BUCKETS_MS = [100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000] as const

function lagBuckets(histogram: LatencyHistogram): { upToMs: number; count: number }[] {
  let below = 0
  return LAG_BUCKETS_MS.map((upToMs) => {
    const within = histogram.countAtMost(upToMs)
    const count = within - below
    below = within
    return { upToMs, count }
  }).filter((bucket) => bucket.count > 0)
}

function causesOf(aggregate: SliceAggregate, family: Family): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, count] of aggregate.causes) if (key.startsWith(`${family}:`)) out[key.slice(family.length + 1)] = count
  return out
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** The rules version a slice's evidence is judged on: its config's, else the one seen last. */
export function currentRules(versions: ReadonlyMap<string, SliceAggregate> | undefined, slice: Pick<SliceConfig, 'compare'> | undefined): string {
  if (slice) return slice.compare.rulesHash
  let latest: SliceAggregate | undefined
  for (const aggregate of versions?.values() ?? []) if (!latest || (aggregate.last ?? 0) > (latest.last ?? 0)) latest = aggregate
  return latest?.rulesHash ?? UNVERSIONED
}

/** A rules version named in full or by a prefix of its hex (`3f2a9c`); the name itself when none matches. */
function resolveRules(versions: ReadonlyMap<string, SliceAggregate> | undefined, wanted: string): string {
  const hex = wanted.replace(/^sha256:/, '')
  const found = [...(versions?.keys() ?? [])].filter((hash) => hash === wanted || hash.replace(/^sha256:/, '').startsWith(hex))
  return found.length === 1 && found[0] !== undefined ? found[0] : wanted
}

/**
 * The report of one slice: the figures of one rules version (the current one unless `rulesHash`
 * chooses another), every version side by side, and the readiness verdict on the current rules'
 * evidence in the slice's window ending `now`. Pure.
 */
export function sliceReport(
  sliceId: string,
  versions: ReadonlyMap<string, SliceAggregate> | undefined,
  slice: Pick<SliceConfig, 'description' | 'owner' | 'readiness' | 'compare'> | undefined,
  options: { now?: number; rulesHash?: string; triage?: SliceTriage } = {},
): SliceReport {
  const now = options.now ?? Date.now()
  const current = currentRules(versions, slice)
  const shown = options.rulesHash === undefined ? current : resolveRules(versions, options.rulesHash)
  const aggregate = versions?.get(shown) ?? new SliceAggregate(sliceId, shown)
  const thresholds = slice?.readiness ?? DEFAULT_READINESS
  const window = evidenceWindow(thresholds, now)
  const judged = versions?.get(current) ?? new SliceAggregate(sliceId, current)
  const triage = options.triage ?? TRIAGE_NOT_READ
  const views = triageViews(triage, now)
  const counts = compared(aggregate.families, acceptedOf(aggregate.signatures, views))
  const causes: Partial<Record<Family, Record<string, number>>> = {}
  for (const family of FAMILIES) {
    const found = causesOf(aggregate, family)
    if (Object.keys(found).length > 0) causes[family] = found
  }
  const widthMs = aggregate.timeline.widthMs
  return {
    slice: sliceId,
    description: slice?.description ?? null,
    owner: slice?.owner ?? null,
    rulesHash: shown,
    translationVersion: aggregate.translationVersion ?? slice?.compare.translationVersion ?? null,
    rulesVersions: [...(versions?.values() ?? [])]
      .sort((a, b) => (b.last ?? 0) - (a.last ?? 0))
      .map((version) => {
        const versionCounts = compared(version.families)
        return {
          rulesHash: version.rulesHash,
          translationVersion: version.translationVersion,
          current: version.rulesHash === current,
          records: version.records,
          samples: versionCounts.samples,
          matchRate: wilson(versionCounts.agree, versionCounts.samples),
          families: { ...version.families },
          firstSample: iso(version.first),
          lastSample: iso(version.last),
        }
      }),
    records: aggregate.records,
    samples: counts.samples,
    disagreements: counts.conflicts + counts.translationDefects + counts.sourceDataDefects,
    accepted: counts.accepted,
    matchRate: wilson(counts.agree, counts.samples),
    matchRateWithoutNoise: wilson(counts.agreeWithoutNoise, counts.samples),
    families: { ...aggregate.families },
    origins: { ...aggregate.origins },
    categories: { ...aggregate.categories },
    causes,
    shadowErrors: causesOf(aggregate, 'shadow-error'),
    skipped: causesOf(aggregate, 'shadow-skipped'),
    primaryErrors: causesOf(aggregate, 'primary-error'),
    notCompared: causesOf(aggregate, 'not-compared'),
    routes: [...aggregate.routes].map(([route, families]) => {
      const routeCounts = compared(families)
      return {
        route,
        records: FAMILIES.reduce((sum, family) => sum + families[family], 0),
        samples: routeCounts.samples,
        matchRate: wilson(routeCounts.agree, routeCounts.samples),
        families: { ...families },
      }
    }),
    topPaths: [...aggregate.paths]
      .sort(([a, x], [b, y]) => y.count - x.count || a.localeCompare(b))
      .slice(0, TOP_PATHS)
      .map(([key, entry]) => {
        const [family, path] = key.split('\0') as [Family, string]
        return { family, path, count: entry.count, exampleRequestId: entry.example }
      }),
    otherPaths: aggregate.otherPaths,
    untranslated: [...aggregate.untranslated.values()]
      .sort((x, y) => y.count - x.count || x.path.localeCompare(y.path))
      .slice(0, TOP_UNTRANSLATED)
      .map((entry) => ({ path: entry.path, value: entry.value, count: entry.count, exampleRequestId: entry.example })),
    violations: [...aggregate.violations.values()]
      .sort((x, y) => y.count - x.count || x.path.localeCompare(y.path))
      .slice(0, TOP_VIOLATIONS)
      .map((entry) => ({ path: entry.path, rule: entry.rule, count: entry.count, exampleRequestId: entry.example })),
    noise: [...aggregate.noisePaths]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .slice(0, TOP_NOISE)
      .map(([path, comparisons]) => ({ path, comparisons })),
    latency: { legacy: summary(aggregate.latency.legacy), modern: summary(aggregate.latency.modern), relativeError: 0.02 },
    lag: { ...summary(aggregate.lag), buckets: lagBuckets(aggregate.lag) },
    errorRate: {
      legacy: aggregate.calls.legacy === 0 ? null : aggregate.errors.legacy / aggregate.calls.legacy,
      modern: aggregate.calls.modern === 0 ? null : aggregate.errors.modern / aggregate.calls.modern,
    },
    timeline: aggregate.timeline.entries().map(([start, bucket]) => ({
      start: new Date(start).toISOString(),
      widthMs,
      ...bucket,
      matchRate: bucket.agree + bucket.disagree === 0 ? null : bucket.agree / (bucket.agree + bucket.disagree),
    })),
    hourly: hourlyFamilies(aggregate),
    firstSample: iso(aggregate.first),
    lastSample: iso(aggregate.last),
    readiness: { ...verdict(judged.windowed(window.from, window.to), thresholds, { rulesHash: current, ...window }, triage), thresholds },
    triage: triageSection(triage, views, (id) => aggregate.signatures.get(id)?.count ?? 0, now),
  }
}

/** The whole report: every slice the config declares (empty ones too), then any others seen. */
export function buildReport(
  aggregator: ComparisonAggregator,
  slices: readonly SliceConfig[],
  options: { source: string; window: Window; slice?: string; rulesHash?: string; now?: number; triage?: (slice: string) => SliceTriage },
): Report {
  const byId = new Map(slices.map((slice) => [slice.id, slice]))
  const ids = [...new Set([...slices.map((slice) => slice.id), ...aggregator.slices.keys()])].filter(
    (id) => options.slice === undefined || id === options.slice,
  )
  // A report over a closed window judges readiness as of its end.
  const now = options.now ?? options.window.to ?? Date.now()
  return {
    reportVersion: REPORT_VERSION,
    generatedAt: new Date().toISOString(),
    source: options.source,
    window: { from: iso(options.window.from), to: iso(options.window.to) },
    ...aggregator.counts,
    slices: ids.map((id) =>
      sliceReport(id, aggregator.slices.get(id), byId.get(id), {
        now,
        ...(options.rulesHash === undefined ? {} : { rulesHash: options.rulesHash }),
        ...(options.triage === undefined ? {} : { triage: options.triage(id) }),
      }),
    ),
  }
}

/** Hours of families a report lists (a week). */
export const HOURLY_FAMILIES_HOURS = 168

/** The families of each hour of evidence, the last HOURLY_FAMILIES_HOURS of them, with the hour's agreement. */
function hourlyFamilies(aggregate: SliceAggregate): SliceReport['hourly'] {
  return [...aggregate.evidence]
    .sort(([a], [b]) => a - b)
    .slice(-HOURLY_FAMILIES_HOURS)
    .map(([start, bucket]) => {
      const { agree, samples } = compared(bucket.families)
      return { start: new Date(start).toISOString(), families: { ...bucket.families }, matchRate: samples === 0 ? null : agree / samples }
    })
}
