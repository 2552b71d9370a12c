import type { DiscrepancyEntry } from '../register/discrepancy-register.ts'
import { REGISTERED_FAMILIES, type RegisteredFamily } from '../register/discrepancy-signature.ts'
import type { TriageState, TriageView } from '../register/triage.ts'

/** A register entry as the admin API shows it: its slice's owner and its triage now. */
export type BacklogInput = Pick<DiscrepancyEntry, 'id' | 'slice' | 'family' | 'count' | 'firstSeen'> & {
  readonly owner: string | null
  readonly triage: Pick<TriageView, 'state' | 'expired' | 'regression'>
}

/** The unresolved signature seen first in a row: what has waited longest. */
export interface OldestOpen {
  readonly id: string
  readonly firstSeen: string
  /** From its first sighting to the time of the backlog, in milliseconds. */
  readonly ageMs: number
}

/** The triage backlog of one slice and family of the register. */
export interface BacklogRow {
  readonly slice: string
  readonly family: RegisteredFamily
  /** The team that owns the slice's decision (routes.config.ts), null when none is named. */
  readonly owner: string | null
  readonly signatures: number
  /** Comparisons recorded under these signatures. */
  readonly comparisons: number
  /** Unresolved: open (untriaged, reopened, an expired acceptance, a regression) or investigating. */
  readonly open: number
  readonly investigating: number
  /** Accepted and still within the expiry (an expired one counts as open, and in `expired`). */
  readonly accepted: number
  readonly expired: number
  /** Fix expected and not recurred under later rules (one that did counts as open, and in `regressions`). */
  readonly fixExpected: number
  readonly regressions: number
  readonly modernDefects: number
  readonly legacyDataDefects: number
  readonly wontFix: number
  readonly oldestOpen: OldestOpen | null
}

type Counted = 'investigating' | 'accepted' | 'fixExpected' | 'modernDefects' | 'legacyDataDefects' | 'wontFix'
const COUNTED: Partial<Record<TriageState, Counted>> = {
  investigating: 'investigating',
  accepted: 'accepted',
  'fix-expected': 'fixExpected',
  'modern-defect': 'modernDefects',
  'legacy-data-defect': 'legacyDataDefects',
  'wont-fix': 'wontFix',
}

type Tally = { -readonly [K in keyof BacklogRow]: BacklogRow[K] }

/** The backlog per slice and family of the given entries, by slice then family (in the register's order). Pure. */
export function triageBacklog(entries: Iterable<BacklogInput>, at: Date): BacklogRow[] {
  const rows = new Map<string, Tally>()
  for (const entry of entries) {
    const key = `${entry.slice}\n${entry.family}`
    const row = rows.get(key) ?? emptyRow(entry)
    rows.set(key, row)
    count(row, entry, at)
  }
  const order = (family: RegisteredFamily): number => REGISTERED_FAMILIES.indexOf(family)
  return [...rows.values()].sort((a, b) => (a.slice < b.slice ? -1 : a.slice > b.slice ? 1 : order(a.family) - order(b.family)))
}

function emptyRow(entry: BacklogInput): Tally {
  return {
    slice: entry.slice,
    family: entry.family,
    owner: entry.owner,
    signatures: 0,
    comparisons: 0,
    open: 0,
    investigating: 0,
    accepted: 0,
    expired: 0,
    fixExpected: 0,
    regressions: 0,
    modernDefects: 0,
    legacyDataDefects: 0,
    wontFix: 0,
    oldestOpen: null,
  }
}

function count(row: Tally, entry: BacklogInput, at: Date): void {
  const { state, expired, regression } = entry.triage
  row.signatures++
  row.comparisons += entry.count
  if (expired) row.expired++
  if (regression) row.regressions++
  const counted = COUNTED[state]
  if (counted !== undefined) row[counted]++
  if (state !== 'open' && state !== 'investigating') return
  row.open++
  if (row.oldestOpen === null || entry.firstSeen < row.oldestOpen.firstSeen)
    row.oldestOpen = { id: entry.id, firstSeen: entry.firstSeen, ageMs: Math.max(0, at.getTime() - Date.parse(entry.firstSeen)) }
}
