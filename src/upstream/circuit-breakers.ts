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
 * One opossum breaker per upstream and kind of traffic (client or shadow), configured apart. The
 * breakers never time calls out themselves (`timeout: false`): every call carries its own
 * AbortSignal deadline, so one slow call cannot abort the others in flight. 4xx answers are not
 * failures (the actions only throw on 5xx, errors and timeouts); `UncountedError`s are filtered out.
 */
export class CircuitBreakers {
  readonly #breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>]>>()

  constructor(upstreams: ReadonlyMap<string, UpstreamConfig>) {
    for (const upstream of upstreams.values()) {
      for (const traffic of TRAFFIC) {
        const config = upstream.breakers[traffic]
        if (!config) continue
        const invoke: Invoke = (action) => action()
        const breaker = new CircuitBreaker(invoke, {
          name: `${upstream.name}:${traffic}`,
          timeout: false,
          errorThresholdPercentage: config.errorThresholdPercentage,
          volumeThreshold: config.volumeThreshold,
          resetTimeout: config.resetTimeoutMs,
          rollingCountTimeout: config.rollingWindowMs,
          errorFilter: (err: unknown) => err instanceof UncountedError,
        })
        this.#breakers.set(key(upstream.name, traffic), breaker)
      }
    }
  }

  /**
   * Runs `action` through the breaker of that upstream and traffic. Rejects with an error whose
   * `code` is `EOPENBREAKER` when the breaker is open; a `CountedFailure`'s result is returned.
   */
  async call<T>(upstream: string, traffic: Traffic, action: () => Promise<T>): Promise<T> {
    const breaker = this.#breakers.get(key(upstream, traffic))
    if (!breaker) return unwrap(action)
    try {
      return (await breaker.fire(action)) as T
    } catch (err) {
      if (err instanceof CountedFailure) return err.result as T
      if (err instanceof UncountedError) throw err.cause
      throw err
    }
  }

  state(upstream: string, traffic: Traffic): BreakerState {
    const breaker = this.#breakers.get(key(upstream, traffic))
    if (!breaker) return 'disabled'
    if (breaker.opened) return 'open'
    return breaker.halfOpen ? 'half-open' : 'closed'
  }

  /** Every breaker with its state, for metrics and the admin API. */
  states(): { upstream: string; traffic: Traffic; state: BreakerState }[] {
    return [...this.#breakers.keys()].map((name) => {
      const [upstream, traffic] = name.split('\0') as [string, Traffic]
      return { upstream, traffic, state: this.state(upstream, traffic) }
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

function key(upstream: string, traffic: Traffic): string {
  return `${upstream}\0${traffic}`
}

export function isOpenBreaker(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EOPENBREAKER'
}
