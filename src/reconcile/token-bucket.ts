import { setTimeout as sleep } from 'node:timers/promises'

/** The longest a timer waits: beyond, Node waits 1 ms instead (and warns), and a slow rate would spin. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `capacity` saved up. Takers are served
 * one after another, in order; over any span the tokens handed out are at most capacity + rate × span
 * (from the start, 1 + rate × span).
 */
export class TokenBucket {
  readonly #rate: number
  readonly #capacity: number
  #tokens: number
  #last = performance.now()
  #turn: Promise<unknown> = Promise.resolve()

  constructor(ratePerSecond: number, capacity: number) {
    this.#rate = ratePerSecond
    this.#capacity = Math.max(1, capacity)
    // One token to begin with, not a full bucket: the first second gets the rate, not the rate and a burst.
    this.#tokens = 1
  }

  /** Resolves when a token is taken; rejects with the signal's reason when it aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    const mine = this.#turn.then(() => this.#wait(signal))
    this.#turn = mine.catch(() => undefined)
    return mine
  }

  async #wait(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted()
    this.#refill()
    while (this.#tokens < 1) {
      await sleep(Math.min(MAX_TIMER_MS, Math.ceil(((1 - this.#tokens) / this.#rate) * 1000)), undefined, signal ? { signal } : {})
      this.#refill()
    }
    this.#tokens -= 1
  }

  #refill(): void {
    const now = performance.now()
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate)
    this.#last = now
  }
}
