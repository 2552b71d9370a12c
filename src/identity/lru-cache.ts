/**
 * A bounded cache of lookups, least recently used out first, each entry with its own lifetime
 * (found ids live longer than misses, which a creating system may fill any moment).
 */
export class LruCache<V> {
  readonly #max: number
  readonly #entries = new Map<string, { value: V; expires: number }>()

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** The value, or undefined when absent or expired; a hit becomes the most recently used. */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    if (entry.expires <= now) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    if (this.#max === 0 || ttlMs <= 0) return
    this.#entries.delete(key)
    this.#entries.set(key, { value, expires: now + ttlMs })
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }
}
