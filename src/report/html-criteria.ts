import { escapeHtml, htmlTable, raw, shortHash, when } from './html-text.ts'
import type { Criterion, CriterionId } from './readiness.ts'
import type { SliceReport } from './report.ts'

interface CriterionView {
  readonly label: string
  /** A word or two, for the summary's list of what blocks a slice. */
  readonly short: string
  readonly figure: (actual: number) => string
  readonly required: (threshold: number) => string
}

const rate = (value: number): string => `${Number(value.toFixed(2))} %`
const atMostRate = (threshold: number): string => (threshold === 0 ? 'none' : `≤ ${rate(threshold)}`)
const share = (label: string, short: string): CriterionView => ({ label, short, figure: rate, required: atMostRate })

/** Each criterion as a board member reads it: a name, its figure and what is required. */
const CRITERION_VIEWS: Readonly<Record<CriterionId, CriterionView>> = {
  samples: { label: 'Compared samples', short: 'samples', figure: (actual) => String(actual), required: (threshold) => `≥ ${threshold}` },
  'match-rate': { label: 'Agreement, 95 % lower bound', short: 'agreement', figure: rate, required: (threshold) => `≥ ${rate(threshold)}` },
  conflicts: share('Genuine conflicts', 'conflicts'),
  'translation-defects': share('Translation defects', 'translation defects'),
  'source-data-defects': share('Source-data defects', 'source-data defects'),
  'not-compared': share('Answers not compared', 'not compared'),
  'shadow-errors': share('Shadow errors', 'shadow errors'),
  'lag-rate': share('Timing lags', 'lag rate'),
  'lag-p95': { label: 'Timing lag, p95', short: 'lag p95', figure: (actual) => `${actual.toFixed(0)} ms`, required: (threshold) => `≤ ${threshold} ms` },
  latency: {
    label: 'Latency, modern ÷ legacy',
    short: 'latency',
    figure: (actual) => `${actual.toFixed(2)}×`,
    required: (threshold) => (threshold === 0 ? 'not checked' : `≤ ${threshold}×`),
  },
  soak: { label: 'Soak time', short: 'soak time', figure: (actual) => `${actual.toFixed(1)} h`, required: (threshold) => `≥ ${threshold} h` },
  'open-backlog': {
    label: 'Open triage backlog, oldest conflict',
    short: 'triage backlog',
    figure: (actual) => `${actual.toFixed(1)} d`,
    required: (threshold) => `≤ ${threshold} d, no regression`,
  },
}

/** The short name of a criterion, for the summary's list of what blocks a slice. */
export const criterionShort = (id: CriterionId): string => CRITERION_VIEWS[id].short

function criterionRow(criterion: Criterion): string[] {
  const view = CRITERION_VIEWS[criterion.id]
  return [
    criterion.met ? '✔ met' : '✘ not met',
    view.label,
    criterion.actual === null ? '–' : view.figure(criterion.actual),
    view.required(criterion.threshold),
    criterion.detail,
  ]
}

/** The evidence the verdict rests on, said once: the rules version and the window. */
function evidenceLine(slice: SliceReport): string {
  const { evidence } = slice.readiness
  const translation =
    slice.rulesVersions.find((version) => version.rulesHash === evidence.rulesHash)?.translationVersion ??
    (evidence.rulesHash === slice.rulesHash ? slice.translationVersion : null)
  return `<p class="evidence">Judged on the comparisons under the current rules <code>${escapeHtml(shortHash(evidence.rulesHash))}</code>${translation ? ` (translation ${escapeHtml(translation)})` : ''} over the last ${evidence.windowDays} days: ${escapeHtml(when(evidence.from))} → ${escapeHtml(when(evidence.to))}.</p>`
}

/** The readiness block: the evidence, then every criterion with its figure and threshold. */
export function criteriaBlock(slice: SliceReport): string {
  const unmet = slice.readiness.criteria.filter((criterion) => !criterion.met).length
  const rows = slice.readiness.criteria.map(criterionRow)
  const table = htmlTable(
    'criteria',
    [{ label: '' }, { label: 'Criterion' }, { label: 'Figure', kind: 'num' }, { label: 'Required', kind: 'num' }, { label: 'Detail' }],
    rows.map((row) => [raw(`<span class="mark">${escapeHtml(row[0])}</span>`), ...row.slice(1)]),
    (index) => (slice.readiness.criteria[index]?.met ? ' class="met"' : ' class="unmet"'),
  )
  const headline = slice.readiness.ready ? 'Every criterion is met.' : `${unmet} of ${slice.readiness.criteria.length} criteria not met.`
  return `<div class="block readiness"><h3>Readiness — ${escapeHtml(headline)}</h3>${evidenceLine(slice)}${table}</div>`
}
