/** Slots a fingerprint table starts with; it doubles when half full. */
const INITIAL_SLOTS = 1 << 16

/**
 * A set of 52-bit fingerprints in one Float64Array, open addressing with linear probing: 8 bytes a
 * slot, at most half of them used — outside the JS heap, with no object per id (a Set of numbers
 * costs five to six times that, on the heap a report's `--max-old-space-size` bounds). 0 marks an
 * empty slot, so the fingerprint 0 is kept as 2^52.
 */
class FingerprintTable {
  #slots = new Float64Array(INITIAL_SLOTS)
  #mask = INITIAL_SLOTS - 1
  size = 0

  /** Adds a fingerprint; false when it was there already. */
  add(fingerprint: number): boolean {
    const key = fingerprint === 0 ? 2 ** 52 : fingerprint
    const slots = this.#slots
    let slot = slotOf(key, this.#mask)
    for (;;) {
      const found = slots[slot] as number
      if (found === 0) break
      if (found === key) return false
      slot = (slot + 1) & this.#mask
    }
    slots[slot] = key
    this.size += 1
    if (this.size * 2 > slots.length) this.#grow()
    return true
  }

  has(fingerprint: number): boolean {
    const key = fingerprint === 0 ? 2 ** 52 : fingerprint
    const slots = this.#slots
    for (let slot = slotOf(key, this.#mask); ; slot = (slot + 1) & this.#mask) {
      const found = slots[slot] as number
      if (found === 0) return false
      if (found === key) return true
    }
  }

  #grow(): void {
    const old = this.#slots
    const slots = new Float64Array(old.length * 2)
    const mask = slots.length - 1
    for (const key of old) {
      if (key === 0) continue
      let slot = slotOf(key, mask)
      while (slots[slot] !== 0) slot = (slot + 1) & mask
      slots[slot] = key
    }
    this.#slots = slots
    this.#mask = mask
  }
}

/** A slot for a fingerprint: its low and high bits mixed (the low ones of a hash are not always random). */
function slotOf(key: number, mask: number): number {
  const low = key >>> 0
  const high = (key / 4294967296) >>> 0
  return (Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> 0) & mask
}

/**
 * Remembers event ids to count a redelivered event once. Ids are kept as 52-bit fingerprints of
 * their random hex in two generations of at most `capacity` each: when the newer is full it becomes
 * the older and the older is forgotten. So the last `capacity` ids are always known (and at most
 * twice that) — redeliveries come soon after the original, so a window of millions is plenty — in
 * 8 to 16 bytes an id, outside the JS heap.
 */
export class EventDedup {
  #current = new FingerprintTable()
  #previous: FingerprintTable | undefined
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
    if (this.#previous?.has(fingerprint) === true || !this.#current.add(fingerprint)) {
      this.#duplicates += 1
      return false
    }
    if (this.#current.size >= this.#capacity) {
      this.#previous = this.#current
      this.#current = new FingerprintTable()
    }
    return true
  }
}

const HEX_DIGITS = 13

/** The value of a hex digit's character code; -1 for any other character. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}

/** The last 13 hex digits of an id (a UUID's random part) as a number; a 52-bit hash of the text when it has fewer. */
export function fingerprintOf(eventId: string): number {
  let value = 0
  let scale = 1
  let digits = 0
  for (let i = eventId.length - 1; i >= 0 && digits < HEX_DIGITS; i--) {
    const digit = hexValue(eventId.charCodeAt(i))
    if (digit < 0) continue
    value += digit * scale
    scale *= 16
    digits += 1
  }
  if (digits === HEX_DIGITS) return value
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
