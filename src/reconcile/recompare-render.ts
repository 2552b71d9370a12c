import { printable } from '../text/printable-text.ts'
import { textTable } from '../text/text-table.ts'
import type { RecompareFindings } from './recompare-tally.ts'

/** Everything `ficus recompare` says: what was judged again, under which rules, and what changed. */
export interface RecompareReport extends RecompareFindings {
  readonly slice: string
  readonly since: string
  readonly until: string | null
  readonly rules: {
    /** The config file the pairs were judged under. */
    readonly file: string
    /** True for a candidate (`--config`): never published. */
    readonly candidate: boolean
    readonly configVersion: string
    readonly rulesHash: string
    readonly translationVersion: string | null
  }
  readonly dryRun: boolean
}

function skippedText(skipped: RecompareFindings['totals']['skipped']): string {
  const reasons = Object.entries(skipped).filter(([, count]) => (count ?? 0) > 0)
  const total = reasons.reduce((sum, [, count]) => sum + (count ?? 0), 0)
  return reasons.length === 0 ? 'skipped 0' : `skipped ${total} (${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')})`
}

function signatureText(paths: readonly string[], value: string | null): string {
  const shown = paths.length === 0 ? '(no paths)' : paths.join(', ')
  return value === null ? shown : `${shown} = ${value}`
}

/** The header, totals and what was or would be published. */
function summaryLines(report: RecompareReport): string[] {
  const { totals, rules } = report
  const which = rules.candidate ? 'candidate config' : 'current config'
  const translation = rules.translationVersion === null ? '' : `, translation ${rules.translationVersion}`
  const lines = [
    `recompare ${report.slice}: captured pairs since ${report.since}${report.until === null ? '' : ` until ${report.until}`}`,
    `rules: ${which} ${rules.file} (config ${rules.configVersion}, rules ${rules.rulesHash}${translation})`,
    `read ${totals.read}, unreadable ${totals.unreadable}, judged ${totals.judged}, ${skippedText(totals.skipped)}; ${totals.sameRules} already judged under these rules`,
  ]
  if (report.dryRun) lines.push('dry run: nothing published')
  else
    lines.push(
      `published ${totals.published ?? 0} replay comparison(s); ${totals.sameRules} not published (their comparisons are already evidence of these rules)`,
    )
  return lines
}

/** `ficus recompare` for a terminal: families before → after, moves with example request ids, signatures that changed. */
export function renderRecompareText(report: RecompareReport): string {
  const parts = [summaryLines(report).map(printable).join('\n'), '']
  if (report.families.length > 0)
    parts.push(
      textTable(
        ['family', 'before', 'after'],
        report.families.map((row) => [row.family, String(row.before), String(row.after)]),
      ),
    )
  parts.push('moves')
  if (report.moves.length === 0) parts.push('  none: every pair keeps its family and category\n')
  else
    parts.push(
      textTable(
        ['from', 'to', 'count', 'examples'],
        report.moves.map((move) => [move.from, move.to, String(move.count), move.examples.join(', ')]),
      ),
    )
  parts.push('signatures')
  if (report.signatures.length === 0) parts.push('  none disappears, appears or changes count\n')
  else
    parts.push(
      textTable(
        ['change', 'signature', 'family', 'route', 'before', 'after', 'paths', 'examples'],
        report.signatures.map((row) => [
          row.change,
          row.id,
          row.family,
          row.route,
          String(row.before),
          String(row.after),
          signatureText(row.paths, row.value),
          row.examples.join(', '),
        ]),
      ),
    )
  const notes: string[] = []
  if (report.unchangedSignatures > 0) notes.push(`${report.unchangedSignatures} signature(s) unchanged`)
  if (report.otherSignatures > 0) notes.push(`${report.otherSignatures} comparison(s) of further signatures not followed`)
  if (notes.length > 0) parts.push(`${notes.join('; ')}\n`)
  return parts.join('\n')
}
