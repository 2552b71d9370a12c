/**
 * Remembers event ids to count a redelivered event once. Ids are kept as 52-bit fingerprints (a
 * JS number each) of their random hex, at most `capacity` of them; beyond, the oldest are
 * forgotten — redeliveries come soon after the original, so a window of millions is plenty.
 */
export class EventDedup {
  readonly #seen = new Set<number>()
  readonly #capacity: number
  #duplicates = 0

  constructor(capacity = 4_000_000) {
    this.#capacity = capacity
  }

  get duplicates(): number {
    return this.#duplicates
  }

  /** True the first time an id is offered, false for a duplicate. */
  first(eventId: string): boolean {
    const fingerprint = fingerprintOf(eventId)
    if (this.#seen.has(fingerprint)) {
      this.#duplicates += 1
      return false
    }
    if (this.#seen.size >= this.#capacity) {
      let drop = Math.ceil(this.#capacity / 10)
      for (const old of this.#seen) {
        this.#seen.delete(old)
        if (--drop === 0) break
      }
    }
    this.#seen.add(fingerprint)
    return true
  }
}

function fingerprintOf(eventId: string): number {
  const hex = eventId.replace(/[^0-9a-f]/gi, '')
  if (hex.length >= 13) return Number.parseInt(hex.slice(-13), 16)
  // Not a UUID: a 52-bit FNV-style hash of the text.
  let hash = 0
  for (let i = 0; i < eventId.length; i++) hash = (hash * 31 + eventId.charCodeAt(i)) % 2 ** 52
  return hash
}

/**
 * The event ids of the most recent comparisons counted on one partition, oldest first, at most
 * `capacity` of them: saved with the partition's state, so a copy that comes after a rebalance,
 * a restart or a takeover is still known (the reporter's exactly-once window, see `reporter.ts`).
 */
export class RecentEventIds {
  readonly #ids = new Set<string>()
  readonly #capacity: number

  constructor(capacity: number, ids: Iterable<string> = []) {
    this.#capacity = capacity
    for (const id of ids) this.add(id)
  }

  has(eventId: string): boolean {
    return this.#ids.has(eventId)
  }

  add(eventId: string): void {
    this.#ids.delete(eventId)
    this.#ids.add(eventId)
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next()
      if (!oldest.done) this.#ids.delete(oldest.value)
    }
  }

  get size(): number {
    return this.#ids.size
  }
}
