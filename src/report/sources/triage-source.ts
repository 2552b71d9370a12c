import { DEFAULT_MAX_SIGNATURES, type DiscrepancyRegister } from '../../register/discrepancy-register.ts'
import type { TriageStore } from '../../register/triage-store.ts'
import { UNTRIAGED } from '../../register/triage.ts'
import type { SliceTriage } from '../slice-triage.ts'

/** Where a report reads triage: the discrepancy register and the triage store (file or Redis). */
export interface TriageSources {
  readonly register: Pick<DiscrepancyRegister, 'list'>
  readonly triage: Pick<TriageStore, 'kind' | 'statuses'>
}

/**
 * The triage of every slice's signatures, read once (or of one slice, when named): a function from
 * slice id to its triage. When the register or the store cannot be read, every slice's triage is
 * unavailable with the reason — never an empty register that would look triaged.
 */
export async function readTriage(sources: TriageSources, slice?: string): Promise<(slice: string) => SliceTriage> {
  try {
    const entries = await sources.register.list({ ...(slice === undefined ? {} : { slice }), limit: DEFAULT_MAX_SIGNATURES })
    const statuses = await sources.triage.statuses(entries.map((entry) => entry.id))
    const signatures = entries.map((entry) => ({ entry, status: statuses.get(entry.id) ?? UNTRIAGED }))
    return (id) => ({ available: true, source: sources.triage.kind, signatures: signatures.filter(({ entry }) => entry.slice === id) })
  } catch (err) {
    return triageUnavailable(err)
  }
}

/** Every slice's triage unavailable, saying why. */
export function triageUnavailable(err: unknown): (slice: string) => SliceTriage {
  const reason = `the discrepancy register or its triage could not be read: ${(err as Error).message}`
  return () => ({ available: false, reason })
}
