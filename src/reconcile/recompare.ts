import type { CapturedPair } from '../capture/captured-pair.ts'
import type { Comparison } from '../compare/comparison.ts'
import { RecompareTally } from './recompare-tally.ts'
import { replayPair, type ReplayContext } from './replay-judge.ts'

export interface RecompareOptions {
  readonly context: ReplayContext
  /**
   * Writes a replay to the deployment's sink; undefined for a dry run. Replays of pairs whose
   * original was made under the same rules are never written: they are already evidence of them.
   */
  readonly publish?: ((record: Comparison) => void) | undefined
  /** Example request ids kept per move and per signature. */
  readonly examples: number
}

/**
 * `ficus recompare`'s core: every captured pair judged again under the context's rules
 * (replay-judge.ts), before and after tallied, and — unless a dry run — each replay judged under
 * rules other than its original's handed to `publish`. Reads the pairs one at a time.
 */
export async function recompare(pairs: AsyncIterable<CapturedPair>, options: RecompareOptions): Promise<RecompareTally> {
  const tally = new RecompareTally(options.examples)
  const rulesHash = options.context.slice.compare.rulesHash
  for await (const pair of pairs) {
    tally.countRead()
    const replayed = await replayPair(pair, options.context)
    if (replayed.kind === 'skipped') {
      tally.skip(replayed.reason)
      continue
    }
    tally.add(pair.comparison, replayed.record)
    if (pair.comparison.rulesHash === rulesHash) tally.sameRules()
    else if (options.publish) {
      options.publish(replayed.record)
      tally.published()
    }
  }
  return tally
}
