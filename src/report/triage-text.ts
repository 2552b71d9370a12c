import type { SliceReport } from './report.ts'
import type { SignatureLine, TriageSection } from './slice-triage.ts'

// The triage of a slice in sentences, for the terminal and Markdown reports (the HTML report has
// its own tables in html-triage.ts).

const days = (value: number): string => `${value.toFixed(1)} d`
const short = (hash: string | null): string => (hash === null ? '–' : hash.replace(/^sha256:/, '').slice(0, 8))
const named = (line: SignatureLine): string => `${line.id} ${line.family} ${line.route} [${line.paths.join(', ')}] ×${line.count}`

/** Always said, even when nothing is accepted: accepted differences are never dropped silently. */
export function acceptedLine(slice: SliceReport): string {
  return `disagreement ${slice.disagreements}, accepted ${slice.accepted} (differences accepted in triage: in neither agreement nor disagreement)`
}

/** The triage section as sentences: open signatures, accepted ones with reason, approver and expiry, regressions. */
export function triageLines(section: TriageSection): string[] {
  if (section.unavailable !== null) return [`triage: not available (${section.unavailable})`]
  const open = section.open
  const lines = [
    `triage (${section.source ?? '–'}): ${open.count} open signature(s)${open.oldestAgeDays === null ? '' : `, oldest ${days(open.oldestAgeDays)}`}`,
    ...open.top.map((line) => `  open: ${named(line)}, ${line.state}${line.expired ? ', acceptance expired' : ''}${line.regression ? ', regression' : ''}`),
  ]
  if (section.accepted.length === 0) lines.push('accepted: none')
  for (const line of section.accepted)
    lines.push(
      `accepted: ${named(line)}, ${line.comparisons} in these figures; "${line.reason ?? ''}" approved by ${line.approver ?? '–'}, until ${line.expiresAt ?? 'no expiry'}`,
    )
  if (section.regressions.length === 0) lines.push('regressions: none')
  for (const line of section.regressions)
    lines.push(
      `regression: ${named(line)}, fix expected under rules ${short(line.fixExpectedUnder)} (since ${line.promisedAt ?? '–'}), seen again ${line.lastSeen}`,
    )
  return lines
}
