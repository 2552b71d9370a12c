import type { SliceConfig } from '../config/types.ts'
import { SHADOW_SKIP_CAUSES, shadowSkips, type ShadowSkipCause, type ShadowSkips } from '../publish/shadow-skips.ts'

type Counts = Record<ShadowSkipCause, number>

const zero = (): Counts => ({ 'sampled-out': 0, 'unsafe-write': 0, 'breaker-open': 0, 'queue-full': 0 })

/** One slice's skips: those of the window not yet published, and every one since start (metrics). */
interface SliceSkips {
  readonly slice: Pick<SliceConfig, 'id' | 'compare'>
  readonly window: Counts
  readonly since: Counts
  pending: number
}

/**
 * Skips counted instead of recorded: per slice and cause, plain integers (a map lookup and two
 * increments per skip, nothing allocated once a slice has been seen). `flush` closes the window and
 * gives one ShadowSkips event per slice that had any; a window with none publishes nothing.
 */
export class SkipCounter {
  readonly #slices = new Map<string, SliceSkips>()
  /** Skips that still made a run (and a comparison): counted here for the metric only. */
  readonly #runSkips = new Map<string, { slice: string; reason: string; count: number }>()
  #windowStart: Date

  constructor(now: Date = new Date()) {
    this.#windowStart = now
  }

  count(slice: Pick<SliceConfig, 'id' | 'compare'>, cause: ShadowSkipCause): void {
    let entry = this.#slices.get(slice.id)
    if (!entry) this.#slices.set(slice.id, (entry = { slice, window: zero(), since: zero(), pending: 0 }))
    entry.window[cause] += 1
    entry.since[cause] += 1
    entry.pending += 1
  }

  /** A skip found once the run was under way (its body over the cap, the client gone, the breaker opened): it has its comparison. */
  countRun(slice: string, reason: string): void {
    const key = `${slice}\0${reason}`
    const known = this.#runSkips.get(key)
    if (known) known.count += 1
    else this.#runSkips.set(key, { slice, reason, count: 1 })
  }

  /** Every skip since start by slice and reason, counted or recorded (`ficus_shadow_skipped_total`). */
  totals(): { slice: string; reason: string; count: number }[] {
    const totals = new Map<string, { slice: string; reason: string; count: number }>()
    for (const entry of this.#slices.values())
      for (const reason of SHADOW_SKIP_CAUSES)
        if (entry.since[reason] > 0) totals.set(`${entry.slice.id}\0${reason}`, { slice: entry.slice.id, reason, count: entry.since[reason] })
    for (const [key, run] of this.#runSkips) {
      const known = totals.get(key)
      totals.set(key, { ...run, count: run.count + (known?.count ?? 0) })
    }
    return [...totals.values()]
  }

  /** Closes the window at `now`: the events of the slices that had skips in it, their window counts zeroed. */
  flush(source: { readonly instance: string; readonly configVersion: string }, now: Date = new Date()): ShadowSkips[] {
    const window = { start: this.#windowStart, end: now }
    this.#windowStart = now
    const events: ShadowSkips[] = []
    for (const entry of this.#slices.values()) {
      if (entry.pending === 0) continue
      const counts: Partial<Counts> = {}
      for (const cause of SHADOW_SKIP_CAUSES) {
        if (entry.window[cause] > 0) counts[cause] = entry.window[cause]
        entry.window[cause] = 0
      }
      entry.pending = 0
      events.push(shadowSkips({ id: entry.slice.id, rulesHash: entry.slice.compare.rulesHash }, counts, window, source))
    }
    return events
  }
}
