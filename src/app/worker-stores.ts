import type { Comparison } from '../compare/comparison.ts'
import type { DiscrepancyRegister } from '../register/discrepancy-register.ts'
import { signatureOf } from '../register/discrepancy-signature.ts'
import type { WorkerLink } from './worker-link.ts'

/**
 * The discrepancy register of a worker of `ficus start --workers`. Kept in Redis, every worker
 * records into it itself. Kept in the data directory, it has one writer, worker 1: the other workers
 * send it their differing comparisons (those with a signature) over the primary, and read the file
 * only; worker 1 records what they send as its own.
 */
export function sharedFileRegister(register: DiscrepancyRegister, link: WorkerLink): DiscrepancyRegister {
  if (register.kind !== 'file') return register
  if (link.rank === 1) {
    link.onRelay('register', (payload) => register.record(payload as Comparison))
    return register
  }
  return {
    kind: register.kind,
    open: () => register.open(),
    record: (comparison) => {
      if (signatureOf(comparison)) link.relay('register', forRegister(comparison))
    },
    list: (query) => register.list(query),
    get: (id) => register.get(id),
    stats: () => register.stats(),
    close: () => register.close(),
  }
}

/**
 * What worker 1's register reads of a comparison, and no more: the diff's paths and kinds without
 * their values (up to 100 entries of published values each), no noise diff. The signature, counts,
 * entities, examples and rules versions come out as they would from the whole record; the relay
 * costs the IPC channel, and the primary while it holds relays for worker 1, a fraction of it.
 */
export function forRegister(comparison: Comparison): Comparison {
  return { ...comparison, diff: comparison.diff.map(({ path, kind }) => ({ path, kind })), noiseDiff: [] }
}
