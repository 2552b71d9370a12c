import { FAMILIES } from '../compare/classify.ts'
import { printable } from '../text/printable-text.ts'
import type { Report, SliceReport } from './report.ts'
import { acceptedLine, triageLines } from './triage-text.ts'

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)} %`)
const ms = (value: number | null): string => (value === null ? '–' : value.toFixed(1))
const short = (hash: string): string => hash.replace(/^sha256:/, '').slice(0, 8)

function sliceLines(slice: SliceReport, mark: { ok: string; no: string }): string[] {
  const rate = slice.matchRate
  const lines = [
    `${slice.slice}  ${slice.readiness.ready ? 'READY' : 'NOT READY'}${slice.description ? `  — ${slice.description}` : ''}`,
    ...(slice.owner ? [`  owner ${slice.owner.team} (${slice.owner.contact})`] : []),
    `  rules ${short(slice.rulesHash)}${slice.translationVersion ? ` (translation ${slice.translationVersion})` : ''}: ${slice.records} comparisons, ${slice.samples} compared; agreement ${percent(rate?.value)}${rate ? ` (95 % CI ${percent(rate.lower)} – ${percent(rate.upper)})` : ''}, without forgiving noise ${percent(slice.matchRateWithoutNoise?.value)}`,
    `  ${
      FAMILIES.filter((family) => slice.families[family] > 0)
        .map((family) => `${family} ${slice.families[family]}`)
        .join(', ') || 'no comparisons in the window'
    }`,
    `  ${acceptedLine(slice)}`,
    `  ${originLine(slice)}`,
  ]
  const causes = Object.entries(slice.causes).flatMap(([family, counts]) => Object.entries(counts).map(([cause, count]) => `${family}/${cause} ${count}`))
  if (causes.length > 0) lines.push(`  causes: ${causes.join(', ')}`)
  const { legacy, modern } = slice.latency
  lines.push(
    `  latency p50/p95/p99 ms: legacy ${ms(legacy.p50)}/${ms(legacy.p95)}/${ms(legacy.p99)}, modern ${ms(modern.p50)}/${ms(modern.p95)}/${ms(modern.p99)}; error rate legacy ${percent(slice.errorRate.legacy)}, modern ${percent(slice.errorRate.modern)}`,
  )
  if (slice.lag.count > 0)
    lines.push(
      `  timing lag: ${slice.lag.count} converged, p50/p95/p99 ms ${ms(slice.lag.p50)}/${ms(slice.lag.p95)}/${ms(slice.lag.p99)}; ${slice.lag.buckets.map((bucket) => `≤${bucket.upToMs} ms ×${bucket.count}`).join(', ')}`,
    )
  if (slice.topPaths.length > 0)
    lines.push(
      `  top differing paths: ${slice.topPaths.map((path) => `${path.path} (${path.family}) ×${path.count} (e.g. ${path.exampleRequestId})`).join(', ')}`,
    )
  if (slice.untranslated.length > 0) lines.push(`  untranslated: ${slice.untranslated.map((item) => `${item.path} = ${item.value} ×${item.count}`).join(', ')}`)
  if (slice.violations.length > 0)
    lines.push(
      `  legacy data breaking the model: ${slice.violations.map((item) => `${item.rule} ${item.path} ×${item.count} (e.g. ${item.exampleRequestId})`).join(', ')}`,
    )
  if (slice.noise.length > 0) lines.push(`  put down to noise: ${slice.noise.map((item) => `${item.path} ×${item.comparisons}`).join(', ')}`)
  if (slice.routes.length > 1)
    for (const route of slice.routes) lines.push(`  route ${route.route}: ${route.samples} compared, agreement ${percent(route.matchRate?.value)}`)
  const others = slice.rulesVersions.filter((version) => version.rulesHash !== slice.rulesHash)
  if (others.length > 0)
    lines.push(
      `  other rules versions: ${others.map((version) => `${short(version.rulesHash)}${version.current ? ' (current)' : ''} ${version.samples} compared, agreement ${percent(version.matchRate?.value)}, last ${version.lastSample ?? '–'}`).join('; ')}`,
    )
  const evidence = slice.readiness.evidence
  lines.push(`  readiness, on rules ${short(evidence.rulesHash)} over the last ${evidence.windowDays} d (${evidence.from} → ${evidence.to}):`)
  for (const criterion of slice.readiness.criteria) lines.push(`    ${criterion.met ? mark.ok : mark.no} ${criterion.id}: ${criterion.detail}`)
  for (const line of triageLines(slice.triage)) lines.push(`  ${line}`)
  return lines
}

/** How many comparisons each cause brought: live traffic, reconciliation runs, replays. */
export function originLine(slice: Pick<SliceReport, 'origins'>): string {
  return `from live traffic ${slice.origins.live}, reconciliation runs ${slice.origins.reconcile}, replays ${slice.origins.replay}`
}

/**
 * The terminal report: one block per slice, every readiness criterion with its figures. Slice
 * names, paths, values and request ids come from the records: each line is made printable.
 */
export function renderText(report: Report): string {
  const header = [
    `Ficus shadow-run report — ${report.generatedAt}`,
    `source ${report.source}; window ${report.window.from ?? 'beginning'} → ${report.window.to ?? 'now'}; ${report.read} record(s) read, ${report.duplicates} duplicate(s) counted once, ${report.outsideWindow} outside the window`,
  ]
  return `${[...header, ...report.slices.flatMap((slice) => ['', ...sliceLines(slice, { ok: '[x]', no: '[ ]' })])].map(printable).join('\n')}\n`
}
