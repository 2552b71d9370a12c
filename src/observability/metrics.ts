import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { openMetricsText, prefersOpenMetrics } from './open-metrics.ts'

/**
 * The interval of the event-loop delay sampler behind `nodejs_eventloop_lag_*_seconds` (prom-client's
 * default, set here so it is known). Node's histogram records the time between the sampler's ticks,
 * so those gauges include it: an idle loop reads 0.010 s, and the delay itself is the value minus it.
 */
export const EVENT_LOOP_SAMPLING_MS = 10

/**
 * Every metric Ficus exports, named in one place, after Prometheus's conventions
 * (https://prometheus.io/docs/practices/naming/): counters end in `_total`, ratios in `_ratio`,
 * a unit is a suffix (`_seconds`, `_bytes`), and a state is one series per state.
 */
export const METRIC_NAMES = {
  requests: 'ficus_requests_total',
  upstreamRetries: 'ficus_upstream_retries_total',
  websocketUpgrades: 'ficus_websocket_upgrades_total',
  websocketOpen: 'ficus_websocket_connections',
  upstreamDuration: 'ficus_upstream_duration_seconds',
  modernRatio: 'ficus_slice_modern_ratio',
  authorityVersion: 'ficus_slice_authority_version',
  storeUp: 'ficus_authority_store_up',
  authorityChanges: 'ficus_authority_changes_total',
  comparisons: 'ficus_comparisons_total',
  shadowDuration: 'ficus_shadow_duration_seconds',
  shadowSkipped: 'ficus_shadow_skipped_total',
  shadowQueue: 'ficus_shadow_queue_depth',
  breakerState: 'ficus_breaker_state',
  sinkWritten: 'ficus_event_sink_records_written_total',
  sinkDropped: 'ficus_event_sink_records_dropped_total',
  sinkSpilled: 'ficus_event_sink_records_spilled_total',
  sinkReplayed: 'ficus_event_sink_records_replayed_total',
  sinkSendsFailed: 'ficus_event_sink_sends_failed_total',
  sinkLost: 'ficus_event_sink_records_lost_total',
  sinkBuffered: 'ficus_event_sink_records_buffered',
  outboxBytes: 'ficus_outbox_bytes',
  identityLookups: 'ficus_identity_lookups_total',
  identityFallbacks: 'ficus_identity_fallbacks_total',
  driftAlert: 'ficus_drift_alert',
  driftAgreement: 'ficus_drift_agreement_ratio',
  captures: 'ficus_captures_total',
  workerRequests: 'ficus_worker_requests_total',
  capturesPurged: 'ficus_captures_purged_total',
} as const

/** The `state` label of `ficus_breaker_state`: one series each, 1 for the breaker's current state. */
export const BREAKER_STATES = ['closed', 'half-open', 'open'] as const

/**
 * The sink's cumulative counts (keys of its `counters`), each a counter of its own: added up they
 * would mean nothing, since replayed records are also written and spilled ones are replayed later.
 */
const SINK_COUNTERS = [
  {
    key: 'written',
    name: METRIC_NAMES.sinkWritten,
    help: 'Events the sink wrote (JSON lines) or the broker acknowledged (Kafka, outbox replays included) since start.',
  },
  {
    key: 'dropped',
    name: METRIC_NAMES.sinkDropped,
    help: 'Events the sink dropped since start (buffer, queue or outbox full, unwritten at shutdown, unreadable in the outbox); each drop is logged.',
  },
  { key: 'spilled', name: METRIC_NAMES.sinkSpilled, help: 'Events moved from memory to the on-disk outbox since start, to be sent later (Kafka).' },
  { key: 'replayed', name: METRIC_NAMES.sinkReplayed, help: 'Events sent from the outbox to the broker since start (Kafka; also counted as written).' },
  {
    key: 'lost',
    name: METRIC_NAMES.sinkLost,
    help: 'Events an earlier run accepted that never reached disk or the broker (a crash inside the loss window), counted at this start from the sequence gap; may over-count, never under-count.',
  },
  {
    key: 'retried',
    name: METRIC_NAMES.sinkSendsFailed,
    help: 'Sends to the broker that failed since start; their events wait in the outbox to be sent again (Kafka).',
  },
] as const

/** The one key of the sink's `counters` that is a level, not a cumulative count. */
const SINK_BUFFERED = 'buffered'

/** A Prometheus or OpenMetrics text exposition and its content type. */
export interface Exposition {
  readonly contentType: string
  readonly body: string
}

/** The `slice` label of requests no slice claims (not a valid slice id, so it cannot collide). */
export const NO_SLICE = '(none)'

export interface MetricsSources {
  /** Current authority of every slice, as a modern share (0 … 1) and the flag version. */
  readonly slices: () => readonly { readonly id: string; readonly modernShare: number; readonly version: number }[]
  readonly store: () => { readonly kind: string; readonly connected: boolean }
  readonly shadowDepth?: () => { readonly active: number; readonly waiting: number }
  /** Every shadow skip since start by slice and reason: the counted ones and those recorded with their comparison. */
  readonly shadowSkips?: () => readonly { readonly slice: string; readonly reason: string; readonly count: number }[]
  readonly breakers?: () => readonly { readonly upstream: string; readonly traffic: string; readonly slice: string; readonly state: string }[]
  /** The sink's kind, outbox size, and its counts since start (`written`, `dropped`, …) with `buffered`, a level. */
  readonly sink?: () => { readonly kind: string; readonly outboxBytes: number; readonly counters: Readonly<Record<string, number>> }
}

/** One process's metrics as prom-client's JSON, what a worker sends for the admin API to add up. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

/** Prometheus metrics of one gateway process (prom-client, own registry). */
/** `2xx` and its kin, by the status's first digit (no string built per request). */
const STATUS_CLASSES: readonly string[] = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']

export class Metrics {
  readonly #children = new Map<object, Map<string, unknown>>()
  // Only ever in the Prometheus format: switching it to OpenMetrics would rename its counters in place.
  readonly #registry = new Registry()
  readonly #requests: Counter<'slice' | 'side' | 'status_class'>
  readonly #upstreamDuration: Histogram<'slice' | 'side'>
  readonly #changes: Counter<'slice' | 'kind'>
  readonly #comparisons: Counter<'slice' | 'outcome' | 'category'>
  readonly #shadowDuration: Histogram<'slice' | 'side'>
  readonly #retries: Counter<'upstream'>
  readonly #upgrades: Counter<'slice' | 'side' | 'outcome'>
  readonly #tunnels: Gauge<'slice'>
  readonly #identityLookups: Counter<'map' | 'result' | 'cached'>
  readonly #identityFallbacks: Counter<'slice'>
  readonly #driftAlert: Gauge<'slice'>
  readonly #driftAgreement: Gauge<'slice'>
  readonly #captures: Counter<'slice' | 'result'>
  readonly #capturesPurged: Counter<'slice'>

  readonly #workerRequests: Counter<'worker' | 'pid'>
  readonly #worker: { readonly worker: string; readonly pid: string }
  /** The other workers' metrics, when this process answers /metrics for every worker. */
  #others: (() => Promise<MetricsJson[]>) | undefined

  #sources: MetricsSources

  /**
   * `worker`: the rank of a worker of `ficus start --workers` (default 1, a gateway of one process):
   * its requests are counted per worker too, so the spread over the processes shows. Gauges every worker reports alike (authority,
   * store) are added up as the first (worker 1's), the lowest or the highest, never summed.
   */
  constructor(sources: MetricsSources, options: { readonly worker?: number } = {}) {
    this.#sources = sources
    const registers = [this.#registry]
    const current = (): MetricsSources => this.#sources
    this.#requests = new Counter({
      name: METRIC_NAMES.requests,
      help: 'Client requests answered, by slice, side and status class.',
      labelNames: ['slice', 'side', 'status_class'],
      registers,
    })
    this.#worker = { worker: String(options.worker ?? 1), pid: String(process.pid) }
    this.#workerRequests = new Counter({
      name: METRIC_NAMES.workerRequests,
      help: 'Client requests answered, by worker of `ficus start --workers` (its rank and process id; worker 1 alone without --workers): how the kernel spread them.',
      labelNames: ['worker', 'pid'],
      registers,
    })
    this.#retries = new Counter({
      name: METRIC_NAMES.upstreamRetries,
      help: 'Requests sent again once on a fresh connection because the pooled one closed before any byte of the answer, by upstream.',
      labelNames: ['upstream'],
      registers,
    })
    this.#upgrades = new Counter({
      name: METRIC_NAMES.websocketUpgrades,
      help: 'WebSocket upgrades asked of the gateway, by slice, side and outcome: upgraded (the upstream switched protocols), declined (it answered otherwise), refused (by the gateway), failed (upstream unreachable or slow). Never shadowed.',
      labelNames: ['slice', 'side', 'outcome'],
      registers,
    })
    this.#tunnels = new Gauge({
      name: METRIC_NAMES.websocketOpen,
      help: 'WebSocket connections open through the gateway now, by slice.',
      labelNames: ['slice'],
      registers,
    })
    this.#upstreamDuration = new Histogram({
      name: METRIC_NAMES.upstreamDuration,
      help: 'Time until the authoritative upstream sent its response headers, by slice and side.',
      labelNames: ['slice', 'side'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.#changes = new Counter({
      name: METRIC_NAMES.authorityChanges,
      help: 'Authority changes accepted through this instance, by slice and kind (flip, kill-switch).',
      labelNames: ['slice', 'kind'],
      registers,
    })
    new Gauge({
      name: METRIC_NAMES.modernRatio,
      help: 'Ratio of the slice the modern side answers: 0 legacy, 1 modern, in between a sticky rollout.',
      labelNames: ['slice'],
      registers,
      aggregator: 'first',
      collect() {
        for (const slice of sources.slices()) this.set({ slice: slice.id }, slice.modernShare)
      },
    })
    new Gauge({
      name: METRIC_NAMES.authorityVersion,
      help: 'Flag version of the slice in this instance’s snapshot.',
      labelNames: ['slice'],
      registers,
      aggregator: 'first',
      collect() {
        for (const slice of sources.slices()) this.set({ slice: slice.id }, slice.version)
      },
    })
    new Gauge({
      name: METRIC_NAMES.storeUp,
      help: '1 when the authority store is connected (changes possible), 0 when serving the last snapshot.',
      labelNames: ['store'],
      registers,
      aggregator: 'min',
      collect() {
        const status = sources.store()
        this.set({ store: status.kind }, status.connected ? 1 : 0)
      },
    })
    this.#identityLookups = new Counter({
      name: METRIC_NAMES.identityLookups,
      help: 'Identity map lookups, by map, result (found, missing, unusable: a mapping that cannot be used, unavailable: no answer in time) and whether the cache answered.',
      labelNames: ['map', 'result', 'cached'],
      registers,
    })
    this.#driftAlert = new Gauge({
      name: METRIC_NAMES.driftAlert,
      help: "1 while a slice that moved (authority not legacy) agrees with legacy less than its drift rule allows over the rule's window, 0 otherwise.",
      labelNames: ['slice'],
      registers,
      aggregator: 'max',
    })
    this.#driftAgreement = new Gauge({
      name: METRIC_NAMES.driftAgreement,
      help: "Agreement (0 … 1) of a slice that moved, over its drift rule's window; absent without compared samples.",
      labelNames: ['slice'],
      registers,
      aggregator: 'min',
    })
    this.#identityFallbacks = new Counter({
      name: METRIC_NAMES.identityFallbacks,
      help: "Reads answered by the client's side because the authoritative side's id could not be mapped (missingIdentity: client-side), by slice.",
      labelNames: ['slice'],
      registers,
    })
    this.#captures = new Counter({
      name: METRIC_NAMES.captures,
      help: 'Captured pairs (both answers of a shadowed request, encrypted), by slice and result: written, dropped-queue (the write queue was full), dropped-size (the slice is at its maxBytes within the current hour), error (not encrypted or not stored).',
      labelNames: ['slice', 'result'],
      registers,
    })
    this.#capturesPurged = new Counter({
      name: METRIC_NAMES.capturesPurged,
      help: "Captured pairs deleted from the data directory because their retention ended or the slice's size bound needed room, by slice.",
      labelNames: ['slice'],
      registers,
    })
    this.#comparisons = new Counter({
      name: METRIC_NAMES.comparisons,
      help: 'Comparisons written, by slice, outcome and category.',
      labelNames: ['slice', 'outcome', 'category'],
      registers,
    })
    this.#shadowDuration = new Histogram({
      name: METRIC_NAMES.shadowDuration,
      help: 'Duration of shadow calls (headers and body), by slice and the side shadowed.',
      labelNames: ['slice', 'side'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    new Counter({
      name: METRIC_NAMES.shadowSkipped,
      help: 'Requests of a shadowed slice whose shadow was not run, by reason (sampled-out, queue-full, breaker-open, unsafe-write, request-body-over-cap, client-closed).',
      labelNames: ['slice', 'reason'],
      registers,
      // The shadow runner keeps the counts (plain integers on the request path); the counter takes them over at each scrape.
      collect() {
        this.reset()
        for (const { slice, reason, count } of current().shadowSkips?.() ?? []) this.inc({ slice, reason }, count)
      },
    })
    new Gauge({
      name: METRIC_NAMES.shadowQueue,
      help: 'Shadow runs in flight (state="active") and waiting for a place (state="waiting").',
      labelNames: ['state'],
      registers,
      collect() {
        const depth = current().shadowDepth?.() ?? { active: 0, waiting: 0 }
        this.set({ state: 'active' }, depth.active)
        this.set({ state: 'waiting' }, depth.waiting)
      },
    })
    new Gauge({
      name: METRIC_NAMES.breakerState,
      help: 'Circuit breaker state per upstream, traffic and slice: 1 for the current state (closed, half-open, open), 0 for the others.',
      labelNames: ['upstream', 'traffic', 'slice', 'state'],
      registers,
      aggregator: 'max',
      collect() {
        for (const breaker of current().breakers?.() ?? []) {
          for (const state of BREAKER_STATES)
            this.set({ upstream: breaker.upstream, traffic: breaker.traffic, slice: breaker.slice, state }, breaker.state === state ? 1 : 0)
        }
      },
    })
    for (const { key, name, help } of SINK_COUNTERS) {
      new Counter({
        name,
        help,
        labelNames: ['sink'],
        registers,
        // The sinks keep the cumulative count; the counter takes it over at each scrape.
        collect() {
          this.reset()
          const sink = current().sink?.()
          const value = sink?.counters[key]
          if (sink && value !== undefined) this.inc({ sink: sink.kind }, value)
        },
      })
    }
    new Gauge({
      name: METRIC_NAMES.sinkBuffered,
      help: 'Events the sink holds in memory now, waiting to be written or sent.',
      labelNames: ['sink'],
      registers,
      collect() {
        const sink = current().sink?.()
        const value = sink?.counters[SINK_BUFFERED]
        if (sink && value !== undefined) this.set({ sink: sink.kind }, value)
      },
    })
    new Gauge({
      name: METRIC_NAMES.outboxBytes,
      help: 'Bytes of undelivered events in the on-disk outbox.',
      registers,
      collect() {
        this.set(current().sink?.().outboxBytes ?? 0)
      },
    })
    collectDefaultMetrics({ register: this.#registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS })
  }

  /** The metrics in the format the scraper's Accept header prefers: OpenMetrics 1.0, else the Prometheus text format. */
  async exposition(accept: string | undefined): Promise<Exposition> {
    const registry: Registry = this.#others
      ? AggregatorRegistry.aggregate<typeof Registry.PROMETHEUS_CONTENT_TYPE>([await this.json(), ...(await this.#others())])
      : this.#registry
    if (prefersOpenMetrics(accept)) return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await openMetricsText(registry) }
    return { contentType: this.#registry.contentType, body: await registry.metrics() }
  }

  /** This process's metrics as JSON (what a worker sends to the one that answers /metrics). */
  json(): Promise<MetricsJson> {
    return this.#registry.getMetricsAsJSON()
  }

  /** From now on the exposition is the sum of this process's metrics and the others' (worker 1 of `--workers`). */
  aggregateWith(others: () => Promise<MetricsJson[]>): void {
    this.#others = others
  }

  /** Adds sources that exist only after the metrics (the shadow runner, breakers, sink). */
  attach(sources: Partial<MetricsSources>): void {
    this.#sources = { ...this.#sources, ...sources }
  }

  recordComparison(slice: string, outcome: string, category: string): void {
    this.#child(this.#comparisons, slice, outcome, category).inc()
  }

  recordShadowLatency(slice: string, side: string, seconds: number): void {
    this.#child(this.#shadowDuration, slice, side).observe(seconds)
  }

  /** One answered client request; `upstreamSeconds` when an upstream answered. */
  recordRequest(slice: string | null, side: string, status: number, upstreamSeconds: number | null): void {
    const sliceLabel = slice ?? NO_SLICE
    this.#child(this.#requests, sliceLabel, side, STATUS_CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`).inc()
    this.#child(this.#workerRequests, this.#worker.worker, this.#worker.pid).inc()
    if (upstreamSeconds !== null) this.#child(this.#upstreamDuration, sliceLabel, side).observe(upstreamSeconds)
  }

  /**
   * The child of a metric for these label values (in the metric's label order), kept: prom-client
   * otherwise hashes the label object on every sample of the request path.
   */
  #child<T extends { labels(...values: string[]): object }>(metric: T, ...values: string[]): ReturnType<T['labels']> {
    type C = ReturnType<T['labels']>
    let children = this.#children.get(metric) as Map<string, C> | undefined
    if (!children) this.#children.set(metric, (children = new Map<string, C>()))
    const key = values.join('\0')
    let child = children.get(key)
    if (child === undefined) children.set(key, (child = metric.labels(...values) as C))
    return child
  }

  /** A request sent again on a fresh connection after its pooled one closed before the answer. */
  recordRetry(upstream: string): void {
    this.#retries.inc({ upstream })
  }

  /** One WebSocket upgrade and what became of it. */
  recordUpgrade(slice: string | null, side: string, outcome: 'upgraded' | 'declined' | 'refused' | 'failed'): void {
    this.#upgrades.inc({ slice: slice ?? NO_SLICE, side, outcome })
  }

  /** A WebSocket connection opened (+1) or closed (-1). */
  trackTunnel(slice: string | null, delta: 1 | -1): void {
    this.#tunnels.inc({ slice: slice ?? NO_SLICE }, delta)
  }

  recordIdentityLookup(map: string, result: string, cached: boolean): void {
    this.#identityLookups.inc({ map, result, cached: cached ? 'true' : 'false' })
  }

  /** The drift of a slice that moved; undefined when the slice is not watched (back on legacy, no rule). */
  recordDrift(slice: string, drift: { readonly agreement: number | null; readonly alerting: boolean } | undefined): void {
    if (!drift) {
      this.#driftAlert.remove({ slice })
      this.#driftAgreement.remove({ slice })
      return
    }
    this.#driftAlert.set({ slice }, drift.alerting ? 1 : 0)
    if (drift.agreement === null) this.#driftAgreement.remove({ slice })
    else this.#driftAgreement.set({ slice }, drift.agreement)
  }

  recordIdentityFallback(slice: string): void {
    this.#identityFallbacks.inc({ slice })
  }

  /** Captured pairs and what became of them (written, dropped-queue, dropped-size, error). */
  recordCapture(slice: string, result: string, count = 1): void {
    this.#captures.inc({ slice, result }, count)
  }

  recordCapturePurged(slice: string, count: number): void {
    this.#capturesPurged.inc({ slice }, count)
  }

  recordChange(slice: string, kind: string): void {
    this.#changes.inc({ slice, kind })
  }
}
