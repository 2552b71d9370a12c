import { createHash } from 'node:crypto'

const PRECISION = 8
const REGISTERS = 1 << PRECISION
const ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)
/** Up to this many distinct values are counted exactly (their 32-bit hashes, 256 bytes at most). */
const EXACT_UP_TO = 64
const EXACT = 'e'
const ESTIMATED = 'h'

const hash32 = (value: string): number => createHash('sha1').update(value).digest().readUInt32BE(0)

/**
 * A distinct count in at most 256 bytes: exact up to 64 values, then a HyperLogLog of precision 8
 * (within about 6.5 %) — what Redis's PFADD/PFCOUNT do, for the embedded register.
 */
export class DistinctCount {
  #exact: Set<number> | undefined
  #registers: Uint8Array | undefined

  constructor(state: { exact?: Iterable<number>; registers?: Uint8Array } = {}) {
    if (state.registers && state.registers.length === REGISTERS) this.#registers = state.registers
    else this.#exact = new Set(state.exact ?? [])
  }

  static fromBase64(text: string): DistinctCount {
    const bytes = Buffer.from(text.slice(1), 'base64')
    if (text.startsWith(ESTIMATED)) return new DistinctCount({ registers: new Uint8Array(bytes) })
    const exact: number[] = []
    for (let at = 0; at + 4 <= bytes.length; at += 4) exact.push(bytes.readUInt32BE(at))
    return new DistinctCount({ exact })
  }

  add(value: string): void {
    const hash = hash32(value)
    if (this.#exact) {
      this.#exact.add(hash)
      if (this.#exact.size <= EXACT_UP_TO) return
      const held = this.#exact
      this.#exact = undefined
      this.#registers = new Uint8Array(REGISTERS)
      for (const each of held) this.#addHash(each)
      return
    }
    this.#addHash(hash)
  }

  count(): number {
    if (this.#exact) return this.#exact.size
    let sum = 0
    let zeros = 0
    for (const register of this.#registers ?? []) {
      sum += 2 ** -register
      if (register === 0) zeros++
    }
    const estimate = (ALPHA * REGISTERS * REGISTERS) / sum
    const counted = estimate <= 2.5 * REGISTERS && zeros > 0 ? REGISTERS * Math.log(REGISTERS / zeros) : estimate
    // Past the exact range there were more values than it holds, whatever the estimate says.
    return Math.max(Math.round(counted), EXACT_UP_TO + 1)
  }

  toBase64(): string {
    if (this.#registers) return ESTIMATED + Buffer.from(this.#registers).toString('base64')
    const bytes = Buffer.alloc(4 * (this.#exact?.size ?? 0))
    let at = 0
    for (const hash of this.#exact ?? []) at = bytes.writeUInt32BE(hash, at)
    return EXACT + bytes.toString('base64')
  }

  #addHash(hash: number): void {
    const registers = this.#registers as Uint8Array
    const index = hash >>> (32 - PRECISION)
    const rest = (hash << PRECISION) >>> 0
    const rank = rest === 0 ? 32 - PRECISION + 1 : Math.clz32(rest) + 1
    if (rank > (registers[index] ?? 0)) registers[index] = rank
  }
}
