import { FAMILIES } from '../compare/classify.ts'
import { parseAuthority } from '../model/authority-value.ts'
import { familyMix } from './html-charts.ts'
import { criterionShort } from './html-criteria.ts'
import { sliceSection, type AuthorityChange } from './html-slice.ts'
import { REPORT_STYLE } from './html-style.ts'
import { escapeHtml, FAMILY_TEXT, percent, when } from './html-text.ts'
import type { Report, SliceReport } from './report.ts'

export { escapeHtml } from './html-text.ts'
export type { AuthorityChange } from './html-slice.ts'

/** `legacy`, `modern`, `10 % to modern`; `–` when the caller did not say. */
function authorityText(authority: string | undefined): string {
  if (authority === undefined) return '–'
  const parsed = parseAuthority(authority)
  if (!parsed.ok || authority === 'legacy' || authority === 'modern') return authority
  return `${parsed.modernBasisPoints / 100} % to modern`
}

/** True when some of the slice's traffic is already answered by modern. */
function servesModern(authority: string | undefined): boolean {
  const parsed = parseAuthority(authority)
  return parsed.ok && parsed.modernBasisPoints > 0
}

/** The warning a board must not miss: customers get modern's answers while modern still disagrees. */
function conflictWarning(slice: SliceReport, authority: string | undefined): string {
  const conflicts = slice.families['genuine-conflict']
  if (!servesModern(authority) || conflicts === 0) return ''
  return `<div class="warning">⚠ on modern with ${conflicts} genuine conflict(s)</div>`
}

const verdictBadge = (slice: SliceReport): string =>
  `<span class="verdict ${slice.readiness.ready ? 'ready' : 'unready'}">${slice.readiness.ready ? 'READY' : 'NOT READY'}</span>`

function agreementCell(slice: SliceReport): string {
  const rate = slice.matchRate
  if (rate === null) return '–'
  return `<div class="rate">${escapeHtml(percent(rate.value))}</div><div class="ci">95 % CI ${(rate.lower * 100).toFixed(1)}–${(rate.upper * 100).toFixed(1)}</div>`
}

function summaryRow(slice: SliceReport, authority: string | undefined): string {
  const unmet = slice.readiness.criteria.filter((criterion) => !criterion.met).map((criterion) => criterionShort(criterion.id))
  const blocking = unmet.length === 0 ? '' : `<div class="blocking">${unmet.length} not met: ${escapeHtml(unmet.join(', '))}</div>`
  const families = FAMILIES.map(
    (family) => `<td class="num${slice.families[family] === 0 ? ' zero' : ''}" data-family="${family}">${slice.families[family]}</td>`,
  ).join('')
  return `<tr><th scope="row"><div class="name">${escapeHtml(slice.slice)}</div>${slice.description ? `<div class="note">${escapeHtml(slice.description)}</div>` : ''}${familyMix(slice.families, FAMILIES)}</th>
<td data-column="authority">${escapeHtml(authorityText(authority))}${conflictWarning(slice, authority)}</td><td data-column="verdict">${verdictBadge(slice)}${blocking}</td>
<td class="num" data-column="agreement">${agreementCell(slice)}</td><td class="num" data-column="samples">${slice.samples}</td>${families}</tr>`
}

/** Every slice on one page: who answers it, whether it is ready, how far the sides agree, and each family. */
function summaryTable(report: Report, authorities: Readonly<Record<string, string>>): string {
  const families = FAMILIES.map(
    (family) =>
      `<th scope="col" class="family"><span class="upright"><span class="swatch f-${family}"></span>${escapeHtml(FAMILY_TEXT[family].label)}</span></th>`,
  ).join('')
  const rows = report.slices.map((slice) => summaryRow(slice, authorities[slice.slice]))
  return `<table class="summary"><thead><tr><th scope="col" rowspan="2">Slice</th><th scope="col" rowspan="2">Authority</th><th scope="col" rowspan="2">Verdict</th><th scope="col" rowspan="2" class="num">Agreement</th><th scope="col" rowspan="2" class="num">Compared</th><th scope="colgroup" colspan="${FAMILIES.length}" class="families-head">Comparisons by family</th></tr>
<tr>${families}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`
}

function headline(report: Report): string {
  const ready = report.slices.filter((slice) => slice.readiness.ready).length
  return `${ready} of ${report.slices.length} slice(s) meet every readiness criterion.`
}

const READING_GUIDE =
  'A slice is READY when every readiness criterion holds on the evidence of its current rules within its window. Agreement is the share of compared answers on which legacy and modern agree (noise and timing lags forgiven), with its 95 % confidence interval; the criterion uses the lower bound. Genuine conflicts and translation defects are what the migration must fix; source-data defects are legacy data that break the new model.'

/**
 * One self-contained HTML file, a go/no-go document: the summary of every slice, then a page per
 * slice with its criteria, charts (inline SVG) and evidence. No script, no external resource;
 * everything from the records is escaped as text. `authorities` (slice → `legacy`, `modern`,
 * `25%`) and `changes` (slice → recent authority changes) are shown when given.
 */
export function renderHtml(
  report: Report,
  authorities: Readonly<Record<string, string>> = {},
  changes: Readonly<Record<string, readonly AuthorityChange[]>> = {},
): string {
  const sections = report.slices.map((slice) => {
    const authority = authorities[slice.slice]
    const head = {
      verdict: verdictBadge(slice),
      authority: `<span class="authority">Authority: ${escapeHtml(authorityText(authority))}${conflictWarning(slice, authority)}</span>`,
    }
    return sliceSection(slice, head, changes[slice.slice])
  })
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ficus shadow-run report</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<header class="report-head">
<h1>Ficus shadow-run report</h1>
<p class="meta">Generated ${escapeHtml(when(report.generatedAt))} from ${escapeHtml(report.source)}; window ${escapeHtml(report.window.from === null ? 'from the beginning' : when(report.window.from))} → ${escapeHtml(report.window.to === null ? 'now' : when(report.window.to))}; ${report.read} record(s) read, ${report.duplicates} duplicate(s) counted once, ${report.outsideWindow} outside the window.</p>
</header>
<section class="overview">
<h2>${escapeHtml(headline(report))}</h2>
${summaryTable(report, authorities)}
<p class="guide">${escapeHtml(READING_GUIDE)}</p>
</section>
${sections.join('\n')}
</body>
</html>
`
}
