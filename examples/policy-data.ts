/**
 * The example insurer's book: six policies, each telling one story a parallel run must tell apart.
 * Both example sides read from here, each in its own language, so the demo is deterministic.
 */

export type LegacyStatus = 'ACTV' | 'SUSP' | 'LAPS' | 'PNDC'
export type ModernStatus = 'ACTIVE' | 'SUSPENDED' | 'LAPSED' | 'PENDING_CANCELLATION'

export interface Policy {
  readonly number: string
  readonly holder: string
  readonly legacyStatus: LegacyStatus
  readonly modernStatus: ModernStatus
  /** ISO dates. */
  readonly start: string
  readonly end: string
  /** Cents, to keep arithmetic exact. */
  readonly premiumCents: number
  readonly arrearsCents: number
  /** The modern read model is still catching up: it answers this status until it has seen a request for a while (LAG_MS). */
  readonly modernStaleStatus?: ModernStatus
  /** The legacy record holds this premium instead (a data-entry error the new model's rules catch). */
  readonly legacyPremiumCents?: number
  /** Endorsements on file: the legacy platform lists every one in its status answer. */
  readonly endorsements?: number
  readonly story: string
}

export const POLICIES: readonly Policy[] = [
  {
    number: 'P-1001',
    holder: 'Ada Lovelace',
    legacyStatus: 'ACTV',
    modernStatus: 'ACTIVE',
    start: '2025-01-01',
    end: '2026-12-31',
    premiumCents: 12_340,
    arrearsCents: 0,
    story: 'in force; both sides agree once ACTV is read as ACTIVE',
  },
  {
    number: 'P-1002',
    holder: 'Alan Turing',
    legacyStatus: 'SUSP',
    modernStatus: 'SUSPENDED',
    start: '2025-03-01',
    end: '2027-02-28',
    premiumCents: 9_800,
    arrearsCents: 12_000,
    story: 'suspended for arrears; agreement after translation',
  },
  {
    number: 'P-1003',
    holder: 'Grace Hopper',
    legacyStatus: 'LAPS',
    modernStatus: 'LAPSED',
    start: '2023-06-01',
    end: '2024-05-31',
    premiumCents: 15_000,
    arrearsCents: 0,
    story: 'lapsed; agreement after translation',
  },
  {
    number: 'P-1004',
    holder: 'Edsger Dijkstra',
    legacyStatus: 'PNDC',
    modernStatus: 'PENDING_CANCELLATION',
    start: '2025-02-01',
    end: '2027-01-31',
    premiumCents: 11_000,
    arrearsCents: 0,
    story: 'pending cancellation: a legacy code the translation does not know (untranslated)',
  },
  {
    number: 'P-1005',
    holder: 'Barbara Liskov',
    legacyStatus: 'ACTV',
    modernStatus: 'ACTIVE',
    modernStaleStatus: 'SUSPENDED',
    start: '2025-04-01',
    end: '2027-03-31',
    premiumCents: 13_500,
    arrearsCents: 0,
    story: 'reinstated yesterday; the modern read model lags and converges when asked again (timing lag)',
  },
  {
    number: 'P-1006',
    holder: 'Donald Knuth',
    legacyStatus: 'ACTV',
    modernStatus: 'ACTIVE',
    start: '2025-05-01',
    end: '2027-04-30',
    premiumCents: 10_200,
    arrearsCents: 3_500,
    story: 'small arrears: legacy tolerates them for billing, the new Billing context does not (genuine conflict)',
  },
  {
    number: 'P-1007',
    holder: 'Frances Allen',
    legacyStatus: 'ACTV',
    modernStatus: 'ACTIVE',
    start: '2025-06-01',
    end: '2027-05-31',
    premiumCents: 9_800,
    legacyPremiumCents: -9_800,
    arrearsCents: 0,
    story: 'the legacy record holds a negative premium, a data-entry error the migration corrected (source-data defect)',
  },
  {
    number: 'P-1008',
    holder: 'John Backus',
    legacyStatus: 'ACTV',
    modernStatus: 'ACTIVE',
    start: '2024-07-01',
    end: '2026-12-31',
    premiumCents: 21_000,
    arrearsCents: 0,
    endorsements: 4_000,
    story: 'a fleet policy with 4000 endorsements: the legacy answer is too large to compare (not compared)',
  },
]

/** How long the modern read model takes to catch up with a change, per request it sees. */
export const LAG_MS = 250

export function findPolicy(number: string): Policy | undefined {
  return POLICIES.find((policy) => policy.number === number)
}

/** Legacy billing rule: arrears up to 50.00 are tolerated. */
export const LEGACY_ARREARS_TOLERANCE_CENTS = 5_000

export const AGENTS: Readonly<Record<string, string>> = { 'A-77': 'Margaret Hamilton', 'A-78': 'Katherine Johnson' }

/** `2025-01-01` → `20250101`, the legacy platform's date format. */
export function legacyDate(iso: string): string {
  return iso.replaceAll('-', '')
}

/** 12340 → `123.40`, the legacy platform's amount format. */
export function legacyAmount(cents: number): string {
  return (cents / 100).toFixed(2)
}
