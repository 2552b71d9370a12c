import { CATEGORIES } from '../compare/classify.ts'
import { printable } from '../printable-text.ts'
import type { Report, SliceReport } from './report.ts'

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)} %`)
const ms = (value: number | null): string => (value === null ? '–' : value.toFixed(1))

function sliceLines(slice: SliceReport, mark: { ok: string; no: string }): string[] {
  const rate = slice.matchRate
  const lines = [
    `${slice.slice}  ${slice.readiness.ready ? 'READY' : 'NOT READY'}${slice.description ? `  — ${slice.description}` : ''}`,
    `  ${slice.records} comparisons, ${slice.samples} compared; match rate ${percent(rate?.value)}${rate ? ` (95 % CI ${percent(rate.lower)} – ${percent(rate.upper)})` : ''}`,
    `  ${CATEGORIES.filter((category) => slice.categories[category] > 0).map((category) => `${category} ${slice.categories[category]}`).join(', ') || 'no comparisons in the window'}`,
  ]
  const causes = [
    ...Object.entries(slice.shadowErrors).map(([cause, count]) => `shadow-error/${cause} ${count}`),
    ...Object.entries(slice.skipped).map(([cause, count]) => `skipped/${cause} ${count}`),
    ...Object.entries(slice.primaryErrors).map(([cause, count]) => `primary-error/${cause} ${count}`),
  ]
  if (causes.length > 0) lines.push(`  causes: ${causes.join(', ')}`)
  const { legacy, modern } = slice.latency
  lines.push(`  latency p50/p95/p99 ms: legacy ${ms(legacy.p50)}/${ms(legacy.p95)}/${ms(legacy.p99)}, modern ${ms(modern.p50)}/${ms(modern.p95)}/${ms(modern.p99)}; error rate legacy ${percent(slice.errorRate.legacy)}, modern ${percent(slice.errorRate.modern)}`)
  if (slice.topPaths.length > 0) lines.push(`  top differing paths: ${slice.topPaths.map((path) => `${path.path} ×${path.count} (e.g. ${path.exampleRequestId})`).join(', ')}`)
  if (slice.untranslated.length > 0) lines.push(`  untranslated: ${slice.untranslated.map((item) => `${item.path} = ${item.value} ×${item.count}`).join(', ')}`)
  if (slice.routes.length > 1) for (const route of slice.routes) lines.push(`  route ${route.route}: ${route.samples} compared, match rate ${percent(route.matchRate?.value)}`)
  lines.push('  readiness:')
  for (const criterion of slice.readiness.criteria) lines.push(`    ${criterion.met ? mark.ok : mark.no} ${criterion.id}: ${criterion.detail}`)
  return lines
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
