/**
 * Agreement over time in bounded memory: counts per time bucket, the buckets as fine as the data
 * allows. It starts at one minute, so a ten-minute run draws a line; when it holds more than
 * `MAX_BUCKETS`, it moves to the next coarser width and folds its buckets into it. Two timelines
 * merge at the coarser width of the two. Pure.
 */
export const TIMELINE_WIDTHS_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 6 * 60 * 60_000, 24 * 60 * 60_000] as const
export const MAX_BUCKETS = 720

export interface TimelineCounts {
  agree: number
  disagree: number
  notCompared: number
}

export interface TimelineJson {
  readonly widthMs: number
  readonly buckets: Readonly<Record<string, TimelineCounts>>
}

export class Timeline {
  #widthMs: number = TIMELINE_WIDTHS_MS[0]
  #buckets = new Map<number, TimelineCounts>()

  get widthMs(): number {
    return this.#widthMs
  }

  add(time: number, outcome: 'agree' | 'disagree' | 'not-compared', times = 1): void {
    const bucket = this.#bucket(Math.floor(time / this.#widthMs) * this.#widthMs)
    if (outcome === 'agree') bucket.agree += times
    else if (outcome === 'disagree') bucket.disagree += times
    else bucket.notCompared += times
    this.#bound()
  }

  merge(other: Timeline): void {
    if (other.#widthMs > this.#widthMs) this.#coarsen(other.#widthMs)
    for (const [start, counts] of other.#buckets) {
      const bucket = this.#bucket(Math.floor(start / this.#widthMs) * this.#widthMs)
      bucket.agree += counts.agree
      bucket.disagree += counts.disagree
      bucket.notCompared += counts.notCompared
    }
    this.#bound()
  }

  /** The buckets in time order. */
  entries(): [number, TimelineCounts][] {
    return [...this.#buckets].sort(([a], [b]) => a - b)
  }

  toJSON(): TimelineJson {
    return { widthMs: this.#widthMs, buckets: Object.fromEntries([...this.#buckets].map(([start, counts]) => [String(start), { ...counts }])) }
  }

  /** Also reads the hourly `{ start: counts }` map aggregates were saved with before. */
  static fromJSON(json: TimelineJson | Readonly<Record<string, TimelineCounts>> | undefined): Timeline {
    const timeline = new Timeline()
    if (!json) return timeline
    const current = typeof json.widthMs === 'number' && typeof json.buckets === 'object'
    const buckets = current ? (json as TimelineJson).buckets : (json as Readonly<Record<string, TimelineCounts>>)
    timeline.#widthMs = current ? (json as TimelineJson).widthMs : 60 * 60_000
    for (const [start, counts] of Object.entries(buckets)) timeline.#buckets.set(Number(start), { ...counts })
    return timeline
  }

  #bucket(start: number): TimelineCounts {
    let bucket = this.#buckets.get(start)
    if (!bucket) this.#buckets.set(start, (bucket = { agree: 0, disagree: 0, notCompared: 0 }))
    return bucket
  }

  #bound(): void {
    while (this.#buckets.size > MAX_BUCKETS) {
      const next = TIMELINE_WIDTHS_MS.find((width) => width > this.#widthMs)
      if (next === undefined) {
        // A day per bucket and still too many: the oldest go.
        const oldest = Math.min(...this.#buckets.keys())
        this.#buckets.delete(oldest)
      } else this.#coarsen(next)
    }
  }

  #coarsen(widthMs: number): void {
    const old = this.#buckets
    this.#widthMs = widthMs
    this.#buckets = new Map()
    for (const [start, counts] of old) {
      const bucket = this.#bucket(Math.floor(start / widthMs) * widthMs)
      bucket.agree += counts.agree
      bucket.disagree += counts.disagree
      bucket.notCompared += counts.notCompared
    }
  }
}
