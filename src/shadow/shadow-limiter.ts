/**
 * Bounds shadow work: at most `concurrency` shadow runs at once and `queue` waiting for a place.
 * Beyond that a shadow is skipped (and counted by the caller), never queued without limit.
 */
export class ShadowLimiter {
  readonly #concurrency: number
  readonly #queue: number
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor(concurrency: number, queue: number) {
    this.#concurrency = concurrency
    this.#queue = queue
  }

  /** Runs in flight and runs waiting: the queue depth metric. */
  get depth(): { active: number; waiting: number } {
    return { active: this.#active, waiting: this.#waiting.length }
  }

  /**
   * A place for one shadow run: resolves (at once or when a place frees up) with the function that
   * gives the place back. Undefined when both the places and the queue are full.
   */
  tryEnter(): Promise<() => void> | undefined {
    if (this.#active < this.#concurrency) {
      this.#active += 1
      return Promise.resolve(this.#releaser())
    }
    if (this.#waiting.length >= this.#queue) return undefined
    return new Promise((resolve) => {
      this.#waiting.push(() => {
        this.#active += 1
        resolve(this.#releaser())
      })
    })
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.#active -= 1
      this.#waiting.shift()?.()
    }
  }
}
