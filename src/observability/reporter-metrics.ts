import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { Exposition } from './metrics.ts'
import { openMetricsText, prefersOpenMetrics } from './open-metrics.ts'

/** Every metric `ficus reporter` exports, after the same conventions as the gateway's (metrics.ts). */
export const REPORTER_METRIC_NAMES = {
  partitionLag: 'ficus_reporter_partition_lag',
  counted: 'ficus_reporter_comparisons_counted_total',
  duplicatesDropped: 'ficus_reporter_duplicates_dropped_total',
  fencedWrites: 'ficus_reporter_fenced_writes_total',
  restarts: 'ficus_reporter_consumer_restarts_total',
  healthy: 'ficus_reporter_consumer_healthy',
  assigned: 'ficus_reporter_partitions_assigned',
} as const

/** What the reporter's metrics read at each scrape (its health). */
export interface ReporterMetricsSnapshot {
  readonly topic: string
  readonly healthy: boolean
  readonly partitions: readonly { readonly partition: number; readonly lag: number | null }[]
  readonly counted: number
  readonly duplicatesDropped: number
  readonly fencedWrites: number
  readonly restarts: number
}

/** Prometheus metrics of one reporter process (prom-client, own registry), read from its health at each scrape. */
export class ReporterMetrics {
  readonly #registry = new Registry()

  constructor(snapshot: () => ReporterMetricsSnapshot) {
    const registers = [this.#registry]
    new Gauge({
      name: REPORTER_METRIC_NAMES.partitionLag,
      help: 'Records of an assigned partition of the comparisons topic not yet counted by this reporter (its position or the group commit, to the partition end).',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset()
        const now = snapshot()
        for (const entry of now.partitions) if (entry.lag !== null) this.set({ topic: now.topic, partition: String(entry.partition) }, entry.lag)
      },
    })
    new Gauge({
      name: REPORTER_METRIC_NAMES.assigned,
      help: 'Partitions of the comparisons topic the group gave this reporter at its last join.',
      registers,
      collect() {
        this.set(snapshot().partitions.length)
      },
    })
    new Gauge({
      name: REPORTER_METRIC_NAMES.healthy,
      help: 'Whether the reporter consumer is doing its work (1) or is crashed, stopped, out of its group or stalled (0): what /healthz answers.',
      registers,
      collect() {
        this.set(snapshot().healthy ? 1 : 0)
      },
    })
    const counters = [
      { key: 'counted', name: REPORTER_METRIC_NAMES.counted, help: 'Comparisons counted since start (duplicates dropped are not).' },
      {
        key: 'duplicatesDropped',
        name: REPORTER_METRIC_NAMES.duplicatesDropped,
        help: 'Redelivered comparisons (an eventId already counted) dropped since start.',
      },
      {
        key: 'fencedWrites',
        name: REPORTER_METRIC_NAMES.fencedWrites,
        help: 'Saves of a partition state refused since start: the reporter no longer owned the partition, or the save went back in offsets.',
      },
      {
        key: 'restarts',
        name: REPORTER_METRIC_NAMES.restarts,
        help: 'Times the reporter replaced a crashed, stopped, evicted or stalled consumer since start.',
      },
    ] as const
    for (const { key, name, help } of counters) {
      new Counter({
        name,
        help,
        registers,
        // The reporter keeps the cumulative count; the counter takes it over at each scrape.
        collect() {
          this.reset()
          this.inc(snapshot()[key])
        },
      })
    }
    collectDefaultMetrics({ register: this.#registry })
  }

  /** The metrics in the format the scraper's Accept header prefers: OpenMetrics 1.0, else the Prometheus text format. */
  async exposition(accept: string | undefined): Promise<Exposition> {
    if (prefersOpenMetrics(accept)) return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await openMetricsText(this.#registry) }
    return { contentType: this.#registry.contentType, body: await this.#registry.metrics() }
  }
}
