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
   * A place for one shadow run: `ready` resolves (at once or when a place frees up) with the
   * function that gives the place back, or with undefined when the ticket was cancelled while it
   * waited (the request it was for has ended). Undefined when both the places and the queue are full.
   */
  tryEnter(): Ticket | undefined {
    if (this.#active < this.#concurrency) {
      this.#active += 1
      return { ready: Promise.resolve(this.#releaser()), cancel: () => undefined }
    }
    if (this.#waiting.length >= this.#queue) return undefined
    let grant!: () => void
    let cancelWaiting: () => void = () => undefined
    const ready = new Promise<(() => void) | undefined>((resolve) => {
      grant = () => {
        this.#active += 1
        resolve(this.#releaser())
      }
      this.#waiting.push(grant)
      cancelWaiting = () => {
        const at = this.#waiting.indexOf(grant)
        if (at === -1) return
        this.#waiting.splice(at, 1)
        resolve(undefined)
      }
    })
    return { ready, cancel: () => cancelWaiting() }
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

/** A place in the shadow queue: granted (`ready` resolves with its release) or cancelled while waiting. */
export interface Ticket {
  readonly ready: Promise<(() => void) | undefined>
  /** Leaves the queue when still waiting; nothing once the place was granted. */
  cancel(): void
}
