/**
 * A mergeable latency histogram with logarithmic buckets: every value is counted in the bucket
 * [γ^(i-1), γ^i) with γ = 1.02, so a percentile read from it is within 2 % of the true value
 * (relative error), whatever the distribution, in constant memory (a few hundred buckets for
 * 0.01 ms … 10 min). Two histograms merge by adding their counts: per-partition or per-file
 * aggregates combine exactly.
 */
export const RELATIVE_ERROR = 0.02
const GAMMA = 1 + RELATIVE_ERROR
const LOG_GAMMA = Math.log(GAMMA)
/** Values at or below this (ms) are counted as zero. */
const MIN_VALUE_MS = 0.01

export interface HistogramJson {
  readonly zero: number
  readonly buckets: Readonly<Record<string, number>>
}

export class LatencyHistogram {
  #zero = 0
  readonly #buckets = new Map<number, number>()
  #count = 0

  get count(): number {
    return this.#count
  }

  add(valueMs: number, times = 1): void {
    if (!Number.isFinite(valueMs) || valueMs < 0) return
    this.#count += times
    if (valueMs <= MIN_VALUE_MS) {
      this.#zero += times
      return
    }
    const index = Math.ceil(Math.log(valueMs) / LOG_GAMMA)
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + times)
  }

  merge(other: LatencyHistogram): void {
    this.#zero += other.#zero
    this.#count += other.#count
    for (const [index, count] of other.#buckets) this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + count)
  }

  /** The value at quantile `q` (0–1): the bucket's geometric midpoint; null when empty. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null
    const rank = Math.max(1, Math.ceil(q * this.#count))
    let seen = this.#zero
    if (seen >= rank) return 0
    for (const index of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(index) ?? 0
      if (seen >= rank) return (2 * GAMMA ** index) / (GAMMA + 1)
    }
    return null
  }

  /** How many values were at most `valueMs` (to the histogram's precision: whole buckets). */
  countAtMost(valueMs: number): number {
    let count = this.#zero
    for (const [index, inBucket] of this.#buckets) if (GAMMA ** index <= valueMs * GAMMA) count += inBucket
    return count
  }

  /** Counts per bucket upper bound (ms), for charts. */
  distribution(): { upToMs: number; count: number }[] {
    const out = this.#zero > 0 ? [{ upToMs: MIN_VALUE_MS, count: this.#zero }] : []
    for (const index of [...this.#buckets.keys()].sort((a, b) => a - b)) out.push({ upToMs: GAMMA ** index, count: this.#buckets.get(index) ?? 0 })
    return out
  }

  toJSON(): HistogramJson {
    return { zero: this.#zero, buckets: Object.fromEntries(this.#buckets) }
  }

  static fromJSON(json: HistogramJson): LatencyHistogram {
    const histogram = new LatencyHistogram()
    histogram.#zero = json.zero
    histogram.#count = json.zero
    for (const [index, count] of Object.entries(json.buckets)) {
      histogram.#buckets.set(Number(index), count)
      histogram.#count += count
    }
    return histogram
  }
}
