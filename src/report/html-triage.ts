import { escapeHtml, htmlTable, when } from './html-text.ts'
import type { SliceReport } from './report.ts'

const none = (what: string): string => `<p class="empty">${escapeHtml(what)}</p>`
const table = (className: string, labels: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  htmlTable(
    className,
    labels.map((label) => ({ label, ...(label === 'Comparisons' ? { kind: 'num' as const } : label === 'Signature' ? { kind: 'code' as const } : {}) })),
    rows,
  )

function openTable(slice: SliceReport): string {
  const { open } = slice.triage
  if (open.count === 0) return none('No open signature.')
  const summary = `<p class="note">${open.count} open signature(s)${open.oldestAgeDays === null ? '' : `, the oldest first seen ${open.oldestAgeDays.toFixed(1)} days ago`}; the most frequent:</p>`
  const rows = open.top.map((line) => [
    line.id,
    line.family,
    line.route,
    line.paths.join(', '),
    line.count,
    [line.state, line.expired ? 'acceptance expired' : '', line.regression ? 'regression' : ''].filter(Boolean).join(', '),
    when(line.firstSeen),
  ])
  return summary + table('triage-open', ['Signature', 'Family', 'Route', 'Paths', 'Comparisons', 'State', 'First seen'], rows)
}

function acceptedTable(slice: SliceReport): string {
  const { accepted } = slice.triage
  if (accepted.length === 0) return none('No accepted signature.')
  const rows = accepted.map((line) => [line.id, line.family, line.route, line.comparisons, line.reason ?? '–', line.approver ?? '–', when(line.expiresAt)])
  return table('triage-accepted', ['Signature', 'Family', 'Route', 'Comparisons', 'Reason', 'Approved by', 'Expires'], rows)
}

function regressionsTable(slice: SliceReport): string {
  const { regressions } = slice.triage
  if (regressions.length === 0) return none('No regression.')
  const rows = regressions.map((line) => [line.id, line.family, line.route, line.fixExpectedUnder ?? '–', when(line.promisedAt), when(line.lastSeen)])
  return table('triage-regressions', ['Signature', 'Family', 'Route', 'Fix expected under rules', 'Promised', 'Last seen'], rows)
}

/** The slice's triage: open signatures, accepted ones with reason, approver and expiry, regressions. */
export function triageBlock(slice: SliceReport): string {
  const { triage } = slice
  const accepted = `<p class="note">${slice.accepted} comparison(s) of accepted signatures are counted apart, in neither agreement nor disagreement (${slice.disagreements} disagree).</p>`
  const content =
    triage.unavailable !== null
      ? none(`Triage not available: ${triage.unavailable}.`)
      : `<h4>Open</h4>${openTable(slice)}<h4>Accepted</h4>${acceptedTable(slice)}<h4>Regressions</h4>${regressionsTable(slice)}`
  return `<div class="block triage"><h3>Triage</h3>${accepted}${content}</div>`
}
