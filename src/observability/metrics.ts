import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Every metric Ficus exports, named in one place. */
export const METRIC_NAMES = {
  requests: 'ficus_requests_total',
  upstreamDuration: 'ficus_upstream_duration_seconds',
  modernShare: 'ficus_slice_modern_share',
  authorityVersion: 'ficus_slice_authority_version',
  storeUp: 'ficus_authority_store_up',
  authorityChanges: 'ficus_authority_changes_total',
} as const

/** The `slice` label of requests no slice claims (not a valid slice id, so it cannot collide). */
export const NO_SLICE = '(none)'

export interface MetricsSources {
  /** Current authority of every slice, as a modern share (0 … 1) and the flag version. */
  readonly slices: () => readonly { readonly id: string; readonly modernShare: number; readonly version: number }[]
  readonly store: () => { readonly kind: string; readonly connected: boolean }
}

/** Prometheus metrics of one gateway process (prom-client, own registry). */
export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'slice' | 'side' | 'status_class'>
  readonly #upstreamDuration: Histogram<'slice' | 'side'>
  readonly #changes: Counter<'slice' | 'kind'>

  constructor(sources: MetricsSources) {
    const registers = [this.registry]
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
    collectDefaultMetrics({ register: this.registry })
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
