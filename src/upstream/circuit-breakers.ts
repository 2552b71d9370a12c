import CircuitBreaker from 'opossum'
import type { UpstreamConfig } from '../config/types.ts'

export const TRAFFIC = ['primary', 'shadow'] as const
export type Traffic = (typeof TRAFFIC)[number]
export type BreakerState = 'closed' | 'open' | 'half-open' | 'disabled'

/** Thrown by an action to make the breaker count a call as failed while keeping its result (a 5xx answer). */
export class CountedFailure<T> extends Error {
  readonly result: T
  constructor(result: T, message: string) {
    super(message)
    this.name = 'CountedFailure'
    this.result = result
  }
}

/** Marks an error that says nothing about the upstream's health (the client went away): not counted. */
export class UncountedError extends Error {
  constructor(cause: unknown) {
    super('not counted by the breaker', { cause })
    this.name = 'UncountedError'
  }
}

type Invoke = (action: () => Promise<unknown>) => Promise<unknown>

/**
 * Opossum breakers, one per upstream *and slice*, for client and for shadow traffic apart: one
 * slice's failing route never opens the breaker of another slice on the same upstream, for its
 * clients or its parallel run. Requests no slice claims (fallthrough) have no breaker: unclaimed
 * URLs share no failure domain, and one failing URL must not take the others down; each call still
 * has its deadline. Breakers are made on a slice's first call. Configured apart per kind of traffic.
 * The breakers never time calls out themselves (`timeout: false`): every call carries its own
 * deadline, so one slow call cannot abort the others in flight. 4xx answers are not failures (the
 * actions only throw on 5xx, errors and timeouts); `UncountedError`s are filtered out.
 */
export class CircuitBreakers {
  readonly #upstreams: ReadonlyMap<string, UpstreamConfig>
  readonly #breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>]>>()

  constructor(upstreams: ReadonlyMap<string, UpstreamConfig>) {
    this.#upstreams = upstreams
  }

  #breaker(upstream: string, traffic: Traffic, slice: string): CircuitBreaker<[() => Promise<unknown>]> | undefined {
    const name = key(upstream, traffic, slice)
    const known = this.#breakers.get(name)
    if (known) return known
    const config = this.#upstreams.get(upstream)?.breakers[traffic]
    if (!config) return undefined
    const invoke: Invoke = (action) => action()
    const breaker = new CircuitBreaker(invoke, {
      name: slice === '' ? `${upstream}:${traffic}` : `${upstream}:${traffic}:${slice}`,
      timeout: false,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      resetTimeout: config.resetTimeoutMs,
      rollingCountTimeout: config.rollingWindowMs,
      errorFilter: (err: unknown) => err instanceof UncountedError,
      // Opossum's latency percentiles and snapshots are never read here, and cost on every call: each
      // failure (and a timer every bucket) concatenates and sorts the window's latencies.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    })
    this.#breakers.set(name, breaker)
    return breaker
  }

  /** Whether 5xx answers count as failures for that upstream and traffic (else only errors and timeouts). */
  countsServerErrors(upstream: string, traffic: Traffic): boolean {
    return this.#upstreams.get(upstream)?.breakers[traffic]?.countServerErrors ?? false
  }

  /**
   * Runs `action` through the breaker of that upstream, traffic and slice (none for fallthrough,
   * `slice` null). Rejects with an error whose `code` is `EOPENBREAKER` when the breaker is open; a
   * `CountedFailure`'s result is returned.
   */
  async call<T>(upstream: string, traffic: Traffic, action: () => Promise<T>, slice: string | null): Promise<T> {
    const breaker = slice === null ? undefined : this.#breaker(upstream, traffic, slice)
    if (!breaker) return unwrap(action)
    try {
      return (await breaker.fire(action)) as T
    } catch (err) {
      if (err instanceof CountedFailure) return err.result as T
      if (err instanceof UncountedError) throw err.cause
      throw err
    }
  }

  state(upstream: string, traffic: Traffic, slice: string): BreakerState {
    const config = this.#upstreams.get(upstream)?.breakers[traffic]
    if (!config) return 'disabled'
    const breaker = this.#breakers.get(key(upstream, traffic, slice))
    if (!breaker) return 'closed'
    if (breaker.opened) return 'open'
    return breaker.halfOpen ? 'half-open' : 'closed'
  }

  /**
   * True when a call through that breaker would be refused now without being tried: open, or
   * half-open with its one trial call already under way. Asks, makes no call, creates no breaker.
   */
  refuses(upstream: string, traffic: Traffic, slice: string): boolean {
    const breaker = this.#breakers.get(key(upstream, traffic, slice))
    return breaker !== undefined && !breaker.closed && !breaker.pendingClose
  }

  /** Every breaker made so far with its state and slice, for metrics and the admin API. */
  states(): { upstream: string; traffic: Traffic; slice: string; state: BreakerState }[] {
    return [...this.#breakers.keys()].map((name) => {
      const [upstream, traffic, slice] = name.split('\0') as [string, Traffic, string]
      return { upstream, traffic, slice, state: this.state(upstream, traffic, slice) }
    })
  }

  /** Stops the breakers' timers. */
  shutdown(): void {
    for (const breaker of this.#breakers.values()) breaker.shutdown()
  }
}

async function unwrap<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (err) {
    if (err instanceof CountedFailure) return err.result as T
    if (err instanceof UncountedError) throw err.cause
    throw err
  }
}

function key(upstream: string, traffic: Traffic, slice: string): string {
  return `${upstream}\0${traffic}\0${slice}`
}

export function isOpenBreaker(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EOPENBREAKER'
}
