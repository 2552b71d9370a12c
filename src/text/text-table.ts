import { printable } from './printable-text.ts'

/**
 * A plain-text table with columns padded to their widest cell, for terminal output. Cells are free
 * text (reasons, actors, slice names): they are made printable first, so that none can break a row
 * or reach the terminal as a control sequence.
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((row) => row.map(printable))
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)))
  return `${all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`
}
