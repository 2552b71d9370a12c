import { describe, expect, it } from 'vitest'
import { triageBacklog, type BacklogInput } from '../../src/admin/triage-backlog.ts'
import type { TriageState } from '../../src/register/triage.ts'

const NOW = new Date('2026-11-20T12:00:00Z')
let next = 0
const entry = (
  slice: string,
  family: BacklogInput['family'],
  state: TriageState,
  firstSeen: string,
  flags: { expired?: boolean; regression?: boolean } = {},
): BacklogInput => ({
  id: `sig-${next++}`,
  slice,
  family,
  count: 2,
  firstSeen,
  owner: slice === 'billing' ? 'billing-team' : null,
  triage: { state, expired: flags.expired ?? false, regression: flags.regression ?? false },
})

describe('triageBacklog', () => {
  it('groups by slice then family, counts regressions and expiries as open, and ages the oldest open item', () => {
    const regression = entry('billing', 'genuine-conflict', 'open', '2026-11-17T08:00:00Z', { regression: true })
    const rows = triageBacklog(
      [
        entry('claims', 'genuine-conflict', 'wont-fix', '2026-11-01T00:00:00Z'),
        entry('billing', 'translation-defect', 'fix-expected', '2026-11-19T00:00:00Z'),
        entry('billing', 'genuine-conflict', 'open', '2026-11-18T00:00:00Z', { expired: true }),
        regression,
        entry('billing', 'genuine-conflict', 'accepted', '2026-11-01T00:00:00Z'),
        entry('billing', 'genuine-conflict', 'investigating', '2026-11-19T00:00:00Z'),
      ],
      NOW,
    )
    expect(rows.map((row) => `${row.slice} ${row.family}`)).toEqual(['billing genuine-conflict', 'billing translation-defect', 'claims genuine-conflict'])
    expect(rows[0]).toMatchObject({
      owner: 'billing-team',
      signatures: 4,
      comparisons: 8,
      open: 3,
      investigating: 1,
      accepted: 1,
      expired: 1,
      regressions: 1,
      fixExpected: 0,
      oldestOpen: { id: regression.id, firstSeen: '2026-11-17T08:00:00Z', ageMs: (3 * 24 + 4) * 3_600_000 },
    })
    expect(rows[1]).toMatchObject({ open: 0, fixExpected: 1, oldestOpen: null })
    expect(rows[2]).toMatchObject({ open: 0, wontFix: 1, oldestOpen: null })
  })

  it('has no row for an empty register', () => {
    expect(triageBacklog([], NOW)).toEqual([])
  })
})
