import { compareResponses, type CompareRules, type ResponseSnapshot } from '../compare/compare-responses.ts'
import { nodePaths, type NoiseEvidence } from '../compare/noise-evidence.ts'
import type { PublishedPaths } from '../compare/published-paths.ts'
import { snapshot, type ProcessingClock } from './processing-clock.ts'
import type { ShadowRequest, ShadowResult } from './shadow-run.ts'

/**
 * A double-ask: the authoritative side asked again, its two answers compared — the evidence of
 * noise. What differed, and what both answers covered, is recorded for the route; a path becomes
 * noise only on repeated evidence (compare/noise-evidence.ts).
 */
export async function askTwice(
  request: ShadowRequest,
  first: ResponseSnapshot,
  routeKey: string,
  tools: {
    readonly noise: NoiseEvidence
    readonly paths: PublishedPaths
    readonly askAgain: () => Promise<ShadowResult>
    readonly maxDecoded: number
    readonly clock: ProcessingClock
  },
): Promise<void> {
  const again = await tools.askAgain()
  if (!again.ok || again.status >= 500) return
  const second = await tools.clock.timeAsync(() => snapshot(again, tools.maxDecoded))
  const own = request.slice.compare.rules.translate[request.primarySide]
  // Both answers come from one side: translate both alike so the paths are the common language's.
  const rules: CompareRules = { ...request.slice.compare.rules, translate: own ? { legacy: own, modern: own } : {} }
  // Paths in their published form, as the judgement sees them: the evidence is about those.
  const comparison = tools.clock.time(() => compareResponses(first, second, rules, tools.paths))
  if (comparison.notCompared !== null) return
  const key = (segments: readonly string[], at: number): string => tools.paths.key(segments, at)
  const covered = nodePaths(rules.headers, comparison.translated?.legacy, undefined, key)
  for (const path of nodePaths([], comparison.translated?.modern, undefined, key)) covered.add(path)
  tools.noise.record(
    routeKey,
    covered,
    comparison.entries.map((entry) => entry.path),
    Date.now(),
  )
}
