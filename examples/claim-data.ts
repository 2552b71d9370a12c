// Lodged claims of the example insurer. Legacy PAS numbers them C-nnnn; the Claims context gives
// each claim an id of its own. examples/claim-ids.csv is the identity map between the two, exported
// when the claims were migrated — a claim lodged in legacy since then has no new id yet.

export interface ExampleClaim {
  /** Legacy PAS's claim number. */
  readonly number: string
  /** The Claims context's id; null when the claim was never migrated. */
  readonly id: string | null
  readonly policyNumber: string
  /** ISO date of the loss. */
  readonly lossDate: string
  /** Legacy's status code, and the status the Claims context holds. */
  readonly legacyStatus: 'OPN' | 'CLS' | 'REJ'
  readonly status: 'OPEN' | 'CLOSED' | 'REJECTED'
}

export const CLAIMS: readonly ExampleClaim[] = [
  { number: 'C-4001', id: 'clm_8d1e0a3b', policyNumber: 'P-1001', lossDate: '2026-03-14', legacyStatus: 'OPN', status: 'OPEN' },
  { number: 'C-4002', id: 'clm_2c9f77e1', policyNumber: 'P-1002', lossDate: '2026-05-02', legacyStatus: 'CLS', status: 'CLOSED' },
  { number: 'C-4003', id: 'clm_5a04be92', policyNumber: 'P-1003', lossDate: '2024-05-01', legacyStatus: 'REJ', status: 'REJECTED' },
  // Lodged in legacy after the identity map was exported: the Claims context has never heard of it.
  { number: 'C-4004', id: null, policyNumber: 'P-1001', lossDate: '2026-11-20', legacyStatus: 'OPN', status: 'OPEN' },
]

export function claimByNumber(number: string): ExampleClaim | undefined {
  return CLAIMS.find((claim) => claim.number === number)
}

export function claimById(id: string): ExampleClaim | undefined {
  return CLAIMS.find((claim) => claim.id === id)
}
