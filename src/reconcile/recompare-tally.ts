import { FAMILIES, type Family } from '../compare/classify.ts'
import type { Comparison } from '../compare/comparison.ts'
import { signatureOf, type RegisteredFamily } from '../register/discrepancy-signature.ts'
import type { ReplaySkip } from './replay-judge.ts'

/** Distinct signatures followed before and after; beyond, their comparisons are counted as `otherSignatures`. */
export const MAX_TRACKED_SIGNATURES = 1_000
/** Distinct moves (from → to) kept; there are at most a few dozen family/category pairs. */
const MAX_MOVES = 200

export interface FamilyChange {
  readonly family: Family
  readonly before: number
  readonly after: number
}

/** Comparisons that changed family or category under the new rules. */
export interface Move {
  /** `family/category` before (the original comparison) and after (the replay). */
  readonly from: string
  readonly to: string
  readonly count: number
  /** Request ids of the first of them (at most `--examples`). */
  readonly examples: readonly string[]
}

export interface SignatureChange {
  readonly id: string
  readonly family: RegisteredFamily
  readonly route: string
  readonly paths: readonly string[]
  readonly value: string | null
  readonly before: number
  readonly after: number
  readonly change: 'disappears' | 'appears' | 'changes'
  readonly examples: readonly string[]
}

/** What a recompare found, as printed (text) and as `--json` prints it. */
export interface RecompareTotals {
  /** Captured pairs read from the store. */
  readonly read: number
  /** Captured pairs the store holds but could not be read (wrong key, damaged). */
  readonly unreadable: number
  readonly judged: number
  readonly skipped: Readonly<Partial<Record<ReplaySkip, number>>>
  /** Judged pairs whose original was already made under the rules they were judged under. */
  readonly sameRules: number
  /** Replays written to the sink (null in a dry run). */
  readonly published: number | null
}

export interface RecompareFindings {
  readonly totals: RecompareTotals
  readonly families: readonly FamilyChange[]
  readonly moves: readonly Move[]
  readonly signatures: readonly SignatureChange[]
  /** Signatures whose count did not change. */
  readonly unchangedSignatures: number
  /** Comparisons of signatures beyond MAX_TRACKED_SIGNATURES (before + after). */
  readonly otherSignatures: number
}

interface TrackedSignature {
  readonly id: string
  readonly family: RegisteredFamily
  readonly route: string
  readonly paths: readonly string[]
  readonly value: string | null
  before: number
  after: number
  readonly examples: string[]
}

const zeroFamilies = (): Record<Family, number> => Object.fromEntries(FAMILIES.map((family) => [family, 0])) as Record<Family, number>

/**
 * Before (the original comparisons) and after (the same pairs judged again) side by side, in
 * bounded memory: counts per family, moves between family/category with example request ids, and
 * discrepancy signatures (register/discrepancy-signature.ts) that disappear, appear or change count.
 */
export class RecompareTally {
  readonly #examples: number
  readonly #before = zeroFamilies()
  readonly #after = zeroFamilies()
  readonly #moves = new Map<string, { from: string; to: string; count: number; examples: string[] }>()
  readonly #signatures = new Map<string, TrackedSignature>()
  readonly #skipped: Partial<Record<ReplaySkip, number>> = {}
  #otherSignatures = 0
  #read = 0
  #judged = 0
  #sameRules = 0
  #published = 0

  constructor(examples: number) {
    this.#examples = examples
  }

  get read(): number {
    return this.#read
  }

  countRead(): void {
    this.#read += 1
  }

  skip(reason: ReplaySkip): void {
    this.#skipped[reason] = (this.#skipped[reason] ?? 0) + 1
  }

  sameRules(): void {
    this.#sameRules += 1
  }

  published(): void {
    this.#published += 1
  }

  /** One pair: its original comparison and its replay. */
  add(before: Comparison, after: Comparison): void {
    this.#judged += 1
    this.#before[before.family] += 1
    this.#after[after.family] += 1
    const from = `${before.family}/${before.category}`
    const to = `${after.family}/${after.category}`
    if (from !== to) {
      const key = `${from}\0${to}`
      let move = this.#moves.get(key)
      if (!move && this.#moves.size < MAX_MOVES) this.#moves.set(key, (move = { from, to, count: 0, examples: [] }))
      if (move) {
        move.count += 1
        if (move.examples.length < this.#examples) move.examples.push(before.requestId)
      }
    }
    this.#signature(before, 'before')
    this.#signature(after, 'after')
  }

  #signature(record: Comparison, when: 'before' | 'after'): void {
    const signature = signatureOf(record)
    if (!signature) return
    let tracked = this.#signatures.get(signature.id)
    if (!tracked && this.#signatures.size < MAX_TRACKED_SIGNATURES) {
      const { id, family, route, paths, value } = signature
      this.#signatures.set(id, (tracked = { id, family, route, paths, value, before: 0, after: 0, examples: [] }))
    }
    if (!tracked) {
      this.#otherSignatures += 1
      return
    }
    tracked[when] += 1
    if (tracked.examples.length < this.#examples && !tracked.examples.includes(record.requestId)) tracked.examples.push(record.requestId)
  }

  findings(unreadable: number, dryRun: boolean): RecompareFindings {
    const families = FAMILIES.filter((family) => this.#before[family] > 0 || this.#after[family] > 0).map((family) => ({
      family,
      before: this.#before[family],
      after: this.#after[family],
    }))
    const moves = [...this.#moves.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to))
    const tracked = [...this.#signatures.values()]
    const signatures = tracked
      .filter((signature) => signature.before !== signature.after)
      .map(({ examples, ...signature }) => ({
        ...signature,
        change: signature.after === 0 ? ('disappears' as const) : signature.before === 0 ? ('appears' as const) : ('changes' as const),
        examples,
      }))
      .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before) || a.id.localeCompare(b.id))
    return {
      totals: {
        read: this.#read,
        unreadable,
        judged: this.#judged,
        skipped: { ...this.#skipped },
        sameRules: this.#sameRules,
        published: dryRun ? null : this.#published,
      },
      families,
      moves,
      signatures,
      unchangedSignatures: tracked.length - signatures.length,
      otherSignatures: this.#otherSignatures,
    }
  }
}
