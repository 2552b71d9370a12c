import type { Family } from '../compare/classify.ts'
import { printable } from '../text/printable-text.ts'
import type { RateInterval } from './readiness.ts'

/**
 * Every value that reaches the HTML report goes through here: a slice name or a path is text,
 * never markup, and control or bidi characters are shown as escapes (printable-text.ts).
 */
export function escapeHtml(value: unknown): string {
  return printable(String(value)).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char)
}

/** Markup the report built itself (a chart, a badge): put in a table as is, unlike text. */
export interface Html {
  readonly html: string
}
export const raw = (html: string): Html => ({ html })
export type Cell = string | number | Html

const cellHtml = (cell: Cell): string => (typeof cell === 'object' ? cell.html : escapeHtml(cell))

export interface Column {
  readonly label: string
  /** `num` right-aligns (counts, rates, times). */
  readonly kind?: 'num' | 'text' | 'code'
}

const kindClass = (column: Column | undefined): string => (column?.kind === undefined || column.kind === 'text' ? '' : ` class="${column.kind}"`)

/** A table of text: every cell escaped unless built with `raw`. */
export function htmlTable(
  className: string,
  columns: readonly Column[],
  rows: readonly (readonly Cell[])[],
  attributes: (row: number) => string = () => '',
): string {
  const head = columns.map((column) => `<th scope="col"${kindClass(column)}>${escapeHtml(column.label)}</th>`).join('')
  const body = rows
    .map((row, index) => `<tr${attributes(index)}>${row.map((cell, at) => `<td${kindClass(columns[at])}>${cellHtml(cell)}</td>`).join('')}</tr>`)
    .join('')
  return `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`
}

export const percent = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)} %`

/** `97.8 % (92.1–99.4)`: the point estimate and its 95 % interval. */
export function withInterval(rate: RateInterval | null): string {
  return rate === null ? '–' : `${percent(rate.value)} (${(rate.lower * 100).toFixed(1)}–${(rate.upper * 100).toFixed(1)})`
}

export const ms = (value: number | null): string => (value === null ? '–' : `${value.toFixed(1)} ms`)

/** The first 12 hex digits of a rules hash: enough to tell versions apart on paper. */
export const shortHash = (hash: string): string => hash.replace(/^sha256:/, '').slice(0, 12)

/** `2026-11-20 10:30 UTC`. */
export const when = (iso: string | null): string => (iso === null ? '–' : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`)

const DURATIONS: readonly [number, string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1_000, 's'],
]

/** `1 min`, `15 min`, `6 h`, `1 day`. */
export function duration(valueMs: number): string {
  for (const [unit, name] of DURATIONS) {
    if (valueMs >= unit && valueMs % unit === 0) return `${valueMs / unit} ${name}${name === 'day' && valueMs !== unit ? 's' : ''}`
  }
  return `${valueMs} ms`
}

/** What a board member reads for each family, and what it means. */
export const FAMILY_TEXT: Readonly<Record<Family, { readonly label: string; readonly meaning: string }>> = {
  match: { label: 'match', meaning: 'both sides gave the same answer' },
  noise: { label: 'noise', meaning: 'differed only where legacy differs from itself (forgiven)' },
  'timing-lag': { label: 'timing lag', meaning: 'modern caught up when asked again (forgiven, lag measured)' },
  'translation-defect': { label: 'translation defect', meaning: 'a legacy value the translation cannot map yet' },
  'source-data-defect': { label: 'source-data defect', meaning: 'legacy data breaks a rule of the new model' },
  'genuine-conflict': { label: 'genuine conflict', meaning: 'the answers still differ: a real disagreement' },
  'not-compared': { label: 'not compared', meaning: 'both answered, but the answers could not be compared' },
  'shadow-error': { label: 'shadow error', meaning: 'the side in the shadow failed or timed out' },
  'shadow-skipped': { label: 'shadow skipped', meaning: 'no shadow call was made (sampling, load, breaker)' },
  'primary-error': { label: 'primary error', meaning: 'the answering side failed: nothing to compare' },
}
