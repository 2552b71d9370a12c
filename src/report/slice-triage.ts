import type { DiscrepancyEntry } from '../register/discrepancy-register.ts'
import { REGISTERED_FAMILIES, type RegisteredFamily } from '../register/discrepancy-signature.ts'
import { triageView, type TriageState, type TriageStatus, type TriageView } from '../register/triage.ts'

// What the discrepancy register and its triage say about one slice, as the report and its verdict
// use it: accepted signatures set apart from agreement and disagreement, the open backlog, the
// regressions. Pure: the caller reads the register (report/sources/triage-source.ts).

const DAY_MS = 86_400_000
/** Open signatures listed by name in the triage section. */
const TOP_OPEN = 5

/** A signature of the register with the status its last triage action left. */
export interface TriagedSignature {
  readonly entry: DiscrepancyEntry
  readonly status: TriageStatus
}

/** The slice's signatures and their triage, or why they could not be read. */
export type SliceTriage =
  | { readonly available: true; readonly source: string; readonly signatures: readonly TriagedSignature[] }
  | { readonly available: false; readonly reason: string }

/** What a report judges with when nobody read the register: nothing accepted, the backlog unknown. */
export const TRIAGE_NOT_READ: SliceTriage = { available: false, reason: 'the discrepancy register was not read' }

/** Signature id → its register entry and its triage as it stands at a time. */
export type TriageViews = ReadonlyMap<string, { readonly entry: DiscrepancyEntry; readonly view: TriageView }>

export function triageViews(triage: SliceTriage, now: number): TriageViews {
  if (!triage.available) return new Map()
  const at = new Date(now)
  return new Map(triage.signatures.map(({ entry, status }) => [entry.id, { entry, view: triageView(status, entry, at) }]))
}

/** Differing comparisons set apart as accepted, by family. */
export interface Accepted {
  readonly count: number
  readonly families: Readonly<Record<RegisteredFamily, number>>
}

/**
 * The comparisons of `signatures` whose signature is accepted now (an expired acceptance is open
 * again: its comparisons are disagreement once more).
 */
export function acceptedOf(signatures: ReadonlyMap<string, { readonly family: RegisteredFamily; readonly count: number }>, views: TriageViews): Accepted {
  const families = Object.fromEntries(REGISTERED_FAMILIES.map((family) => [family, 0])) as Record<RegisteredFamily, number>
  let count = 0
  for (const [id, signature] of signatures) {
    if (views.get(id)?.view.state !== 'accepted') continue
    families[signature.family] += signature.count
    count += signature.count
  }
  return { count, families }
}

const OPEN_STATES: ReadonlySet<TriageState> = new Set(['open', 'investigating'])

/** One signature of the judged evidence that holds the slice back, or may soon. */
export interface BacklogSignature {
  readonly id: string
  readonly family: RegisteredFamily
  readonly ageDays: number
  readonly regression: boolean
}

/**
 * The open backlog of the judged evidence: its signatures that are regressions, and its genuine
 * conflicts still open (untriaged, investigating, or accepted past expiry), oldest first. The age
 * runs from the register's first sighting, else from the first hour the evidence holds it.
 */
export function openBacklog(
  signatures: ReadonlyMap<string, { readonly family: RegisteredFamily; readonly first: number }>,
  views: TriageViews,
  now: number,
): { readonly regressions: readonly BacklogSignature[]; readonly openConflicts: readonly BacklogSignature[] } {
  const regressions: BacklogSignature[] = []
  const openConflicts: BacklogSignature[] = []
  for (const [id, { family, first }] of signatures) {
    const known = views.get(id)
    const seen = known ? Date.parse(known.entry.firstSeen) : first
    const item = { id, family, ageDays: (now - (Number.isFinite(seen) ? seen : first)) / DAY_MS, regression: known?.view.regression ?? false }
    if (item.regression) regressions.push(item)
    else if (family === 'genuine-conflict' && OPEN_STATES.has(known?.view.state ?? 'open')) openConflicts.push(item)
  }
  return { regressions, openConflicts: openConflicts.sort((a, b) => b.ageDays - a.ageDays) }
}

/** One signature as the triage section names it. */
export interface SignatureLine {
  readonly id: string
  readonly family: RegisteredFamily
  readonly route: string
  readonly paths: readonly string[]
  /** Comparisons of it in the register (every rules version, all time). */
  readonly count: number
  readonly firstSeen: string
  readonly lastSeen: string
}

/** The report's triage section: the slice's register as triaged at the report's time. */
export interface TriageSection {
  /** Where the triage was read: `redis` or `file`; null when it could not be. */
  readonly source: string | null
  /** Why the triage could not be read; null when it was. */
  readonly unavailable: string | null
  readonly open: {
    /** Signatures open, investigating, accepted past expiry, or regressed. */
    readonly count: number
    readonly oldestAgeDays: number | null
    /** The most frequent few. */
    readonly top: readonly (SignatureLine & { readonly state: TriageState; readonly expired: boolean; readonly regression: boolean })[]
  }
  readonly accepted: readonly (SignatureLine & {
    readonly reason: string | null
    readonly approver: string | null
    readonly expiresAt: string | null
    /** Comparisons of it set apart in the report's figures. */
    readonly comparisons: number
  })[]
  readonly regressions: readonly (SignatureLine & { readonly fixExpectedUnder: string | null; readonly promisedAt: string | null })[]
}

const lineOf = (entry: DiscrepancyEntry): SignatureLine => ({
  id: entry.id,
  family: entry.family,
  route: entry.route,
  paths: entry.paths,
  count: entry.count,
  firstSeen: entry.firstSeen,
  lastSeen: entry.lastSeen,
})

/** The triage section of a slice; `counted` gives the comparisons of each signature in the report's figures. */
export function triageSection(triage: SliceTriage, views: TriageViews, counted: (id: string) => number, now: number): TriageSection {
  const all = [...views.values()]
  const open = all.filter(({ view }) => OPEN_STATES.has(view.state)).sort((a, b) => b.entry.count - a.entry.count)
  const oldest = Math.min(...open.map(({ entry }) => Date.parse(entry.firstSeen)))
  return {
    source: triage.available ? triage.source : null,
    unavailable: triage.available ? null : triage.reason,
    open: {
      count: open.length,
      oldestAgeDays: open.length === 0 ? null : (now - oldest) / DAY_MS,
      top: open.slice(0, TOP_OPEN).map(({ entry, view }) => ({ ...lineOf(entry), state: view.state, expired: view.expired, regression: view.regression })),
    },
    accepted: all
      .filter(({ view }) => view.state === 'accepted')
      .map(({ entry, view }) => ({
        ...lineOf(entry),
        reason: view.reason,
        approver: view.approver,
        expiresAt: view.expiresAt,
        comparisons: counted(entry.id),
      })),
    regressions: all
      .filter(({ view }) => view.regression)
      .map(({ entry, view }) => ({ ...lineOf(entry), fixExpectedUnder: view.rulesHash, promisedAt: view.since })),
  }
}
