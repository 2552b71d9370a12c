import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Every metric Ficus exports, named in one place. */
export const METRIC_NAMES = {
  requests: 'ficus_requests_total',
  upstreamDuration: 'ficus_upstream_duration_seconds',
  modernShare: 'ficus_slice_modern_share',
  authorityVersion: 'ficus_slice_authority_version',
  storeUp: 'ficus_authority_store_up',
  authorityChanges: 'ficus_authority_changes_total',
  comparisons: 'ficus_comparisons_total',
  shadowDuration: 'ficus_shadow_duration_seconds',
  shadowSkipped: 'ficus_shadow_skipped_total',
  shadowQueue: 'ficus_shadow_queue_depth',
  breakerState: 'ficus_breaker_state',
  sinkRecords: 'ficus_event_sink_records',
  outboxBytes: 'ficus_outbox_bytes',
} as const

/** `ficus_breaker_state` values. */
export const BREAKER_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const

/** The `slice` label of requests no slice claims (not a valid slice id, so it cannot collide). */
export const NO_SLICE = '(none)'

export interface MetricsSources {
  /** Current authority of every slice, as a modern share (0 … 1) and the flag version. */
  readonly slices: () => readonly { readonly id: string; readonly modernShare: number; readonly version: number }[]
  readonly store: () => { readonly kind: string; readonly connected: boolean }
  readonly shadowDepth?: () => { readonly active: number; readonly waiting: number }
  readonly breakers?: () => readonly { readonly upstream: string; readonly traffic: string; readonly state: string }[]
  readonly sink?: () => { readonly kind: string; readonly outboxBytes: number; readonly counters: Readonly<Record<string, number>> }
}

/** Prometheus metrics of one gateway process (prom-client, own registry). */
export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'slice' | 'side' | 'status_class'>
  readonly #upstreamDuration: Histogram<'slice' | 'side'>
  readonly #changes: Counter<'slice' | 'kind'>
  readonly #comparisons: Counter<'slice' | 'outcome' | 'category'>
  readonly #shadowDuration: Histogram<'slice' | 'side'>
  readonly #shadowSkipped: Counter<'slice' | 'reason'>

  #sources: MetricsSources

  constructor(sources: MetricsSources) {
    this.#sources = sources
    const registers = [this.registry]
    const current = (): MetricsSources => this.#sources
    this.#requests = new Counter({ name: METRIC_NAMES.requests, help: 'Client requests answered, by slice, side and status class.', labelNames: ['slice', 'side', 'status_class'], registers })
    this.#upstreamDuration = new Histogram({
      name: METRIC_NAMES.upstreamDuration,
      help: 'Time until the authoritative upstream sent its response headers, by slice and side.',
      labelNames: ['slice', 'side'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.#changes = new Counter({ name: METRIC_NAMES.authorityChanges, help: 'Authority changes accepted through this instance, by slice and kind (flip, kill-switch).', labelNames: ['slice', 'kind'], registers })
    new Gauge({
      name: METRIC_NAMES.modernShare,
      help: 'Share of the slice the modern side answers: 0 legacy, 1 modern, in between a sticky rollout.',
      labelNames: ['slice'],
      registers,
      collect() {
        for (const slice of sources.slices()) this.set({ slice: slice.id }, slice.modernShare)
      },
    })
    new Gauge({
      name: METRIC_NAMES.authorityVersion,
      help: 'Flag version of the slice in this instance’s snapshot.',
      labelNames: ['slice'],
      registers,
      collect() {
        for (const slice of sources.slices()) this.set({ slice: slice.id }, slice.version)
      },
    })
    new Gauge({
      name: METRIC_NAMES.storeUp,
      help: '1 when the authority store is connected (changes possible), 0 when serving the last snapshot.',
      labelNames: ['store'],
      registers,
      collect() {
        const status = sources.store()
        this.set({ store: status.kind }, status.connected ? 1 : 0)
      },
    })
    this.#comparisons = new Counter({ name: METRIC_NAMES.comparisons, help: 'Comparisons written, by slice, outcome and category.', labelNames: ['slice', 'outcome', 'category'], registers })
    this.#shadowDuration = new Histogram({
      name: METRIC_NAMES.shadowDuration,
      help: 'Duration of shadow calls (headers and body), by slice and the side shadowed.',
      labelNames: ['slice', 'side'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.#shadowSkipped = new Counter({ name: METRIC_NAMES.shadowSkipped, help: 'Sampled requests whose shadow was not run, by reason (queue-full, request-body-over-cap).', labelNames: ['slice', 'reason'], registers })
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
      help: 'Circuit breaker state per upstream and traffic: 0 closed, 1 half-open, 2 open.',
      labelNames: ['upstream', 'traffic'],
      registers,
      collect() {
        for (const breaker of current().breakers?.() ?? []) {
          if (breaker.state in BREAKER_STATE_VALUES) this.set({ upstream: breaker.upstream, traffic: breaker.traffic }, BREAKER_STATE_VALUES[breaker.state as keyof typeof BREAKER_STATE_VALUES])
        }
      },
    })
    new Gauge({
      name: METRIC_NAMES.sinkRecords,
      help: 'Events of the sink since start: written (published), dropped (also logged), buffered; for Kafka also spilled, replayed and retried (failed sends).',
      labelNames: ['sink', 'state'],
      registers,
      collect() {
        const sink = current().sink?.()
        if (!sink) return
        for (const [state, value] of Object.entries(sink.counters)) this.set({ sink: sink.kind, state }, value)
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
    collectDefaultMetrics({ register: this.registry })
  }

  /** Adds sources that exist only after the metrics (the shadow runner, breakers, sink). */
  attach(sources: Partial<MetricsSources>): void {
    this.#sources = { ...this.#sources, ...sources }
  }

  recordComparison(slice: string, outcome: string, category: string): void {
    this.#comparisons.inc({ slice, outcome, category })
  }

  recordShadowLatency(slice: string, side: string, seconds: number): void {
    this.#shadowDuration.observe({ slice, side }, seconds)
  }

  recordSkip(slice: string, reason: string): void {
    this.#shadowSkipped.inc({ slice, reason })
  }

  /** One answered client request; `upstreamSeconds` when an upstream answered. */
  recordRequest(slice: string | null, side: string, status: number, upstreamSeconds: number | null): void {
    const sliceLabel = slice ?? NO_SLICE
    this.#requests.inc({ slice: sliceLabel, side, status_class: `${Math.floor(status / 100)}xx` })
    if (upstreamSeconds !== null) this.#upstreamDuration.observe({ slice: sliceLabel, side }, upstreamSeconds)
  }

  recordChange(slice: string, kind: string): void {
    this.#changes.inc({ slice, kind })
  }
}
