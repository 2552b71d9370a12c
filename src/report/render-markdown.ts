import { FAMILIES } from '../compare/classify.ts'
import { printable } from '../text/printable-text.ts'
import type { Report } from './report.ts'
import { originLine } from './render-text.ts'
import { acceptedLine, triageLines } from './triage-text.ts'

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)} %`)
const ms = (value: number | null): string => (value === null ? '–' : value.toFixed(1))
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/**
 * The report as Markdown, for pull requests and wikis (and terminals: `--format md` without
 * `--out`). Slice names, paths, values and request ids come from the records: each line is made
 * printable.
 */
export function renderMarkdown(report: Report): string {
  const out = [
    '# Ficus shadow-run report',
    '',
    `Generated ${report.generatedAt} from ${cell(report.source)}; window ${report.window.from ?? 'beginning'} → ${report.window.to ?? 'now'}; ${report.read} record(s), ${report.duplicates} duplicate(s) counted once.`,
    '',
    '| slice | ready | compared | agreement (95 % CI) | genuine conflicts | translation defects | source-data defects | timing lags | not compared | shadow errors | accepted |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.slices.map(
      (slice) =>
        `| ${cell(slice.slice)} | ${slice.readiness.ready ? 'yes' : '**no**'} | ${slice.samples} | ${percent(slice.matchRate?.value)} (${percent(slice.matchRate?.lower)} – ${percent(slice.matchRate?.upper)}) | ${slice.families['genuine-conflict']} | ${slice.families['translation-defect']} | ${slice.families['source-data-defect']} | ${slice.families['timing-lag']} | ${slice.families['not-compared']} | ${slice.families['shadow-error']} | ${slice.accepted} |`,
    ),
  ]
  for (const slice of report.slices) {
    out.push('', `## ${cell(slice.slice)}`, '')
    if (slice.description) out.push(cell(slice.description), '')
    if (slice.owner) out.push(`Owner: ${cell(slice.owner.team)} (${cell(slice.owner.contact)})`, '')
    out.push(
      `Rules \`${slice.rulesHash}\`${slice.translationVersion ? ` (translation ${cell(slice.translationVersion)})` : ''}; agreement without forgiving noise ${percent(slice.matchRateWithoutNoise?.value)}; ${acceptedLine(slice)}.`,
      '',
      `Comparisons ${originLine(slice)}.`,
      '',
    )
    out.push('| family | count |', '| --- | --- |', ...FAMILIES.map((family) => `| ${family} | ${slice.families[family]} |`), '')
    if (slice.lag.count > 0)
      out.push(`Timing lag: ${slice.lag.count} converged; p50/p95/p99 ${ms(slice.lag.p50)} / ${ms(slice.lag.p95)} / ${ms(slice.lag.p99)} ms.`, '')
    out.push(
      `Latency p50/p95/p99: legacy ${ms(slice.latency.legacy.p50)} / ${ms(slice.latency.legacy.p95)} / ${ms(slice.latency.legacy.p99)} ms, modern ${ms(slice.latency.modern.p50)} / ${ms(slice.latency.modern.p95)} / ${ms(slice.latency.modern.p99)} ms. Error rate legacy ${percent(slice.errorRate.legacy)}, modern ${percent(slice.errorRate.modern)}.`,
      '',
    )
    if (slice.topPaths.length > 0)
      out.push(
        '| differing path | family | count | example request |',
        '| --- | --- | --- | --- |',
        ...slice.topPaths.map((path) => `| \`${cell(path.path)}\` | ${path.family} | ${path.count} | ${cell(path.exampleRequestId)} |`),
        '',
      )
    if (slice.violations.length > 0)
      out.push(
        '| legacy data breaking the model | rule | count | example request |',
        '| --- | --- | --- | --- |',
        ...slice.violations.map((item) => `| \`${cell(item.path)}\` | ${item.rule} | ${item.count} | ${cell(item.exampleRequestId)} |`),
        '',
      )
    if (slice.untranslated.length > 0)
      out.push(
        '| untranslated path | value | count |',
        '| --- | --- | --- |',
        ...slice.untranslated.map((item) => `| \`${cell(item.path)}\` | \`${cell(item.value)}\` | ${item.count} |`),
        '',
      )
    out.push(
      `**Readiness: ${slice.readiness.ready ? 'ready' : 'not ready'}** (rules \`${slice.readiness.evidence.rulesHash}\`, last ${slice.readiness.evidence.windowDays} days)`,
      '',
      ...slice.readiness.criteria.map((criterion) => `- [${criterion.met ? 'x' : ' '}] ${criterion.id}: ${cell(criterion.detail)}`),
      '',
      '### Triage',
      '',
      ...triageLines(slice.triage).map((line) => (line.startsWith('  ') ? `  - ${cell(line.trim())}` : `- ${cell(line)}`)),
    )
  }
  return `${out.map(printable).join('\n')}\n`
}
