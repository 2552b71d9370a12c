import { describe, expect, it } from 'vitest'
import { applyAction, triageView, UNTRIAGED, type TriageRecord } from '../../src/register/triage.ts'

const at = (minute: number): string => new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString()
const action = (fields: Partial<TriageRecord> & Pick<TriageRecord, 'action'>, minute = 0): TriageRecord => ({
  id: `a-${minute}`,
  signature: 'sig',
  actor: 'ana@ops',
  reason: 'because',
  at: at(minute),
  instance: 'test',
  ...fields,
})

describe('triage', () => {
  it('moves open → investigating → accepted, keeping who investigates and who approved until when', () => {
    const assigned = applyAction(UNTRIAGED, action({ action: 'assign', assignee: 'bo@claims' }, 1))
    expect(assigned).toMatchObject({ state: 'investigating', assignee: 'bo@claims', since: at(1) })
    const accepted = applyAction(assigned, action({ action: 'accept', approver: 'cy@claims', expiresAt: '2026-12-31' }, 2))
    expect(accepted).toMatchObject({ state: 'accepted', assignee: 'bo@claims', approver: 'cy@claims', expiresAt: '2026-12-31' })
    expect(applyAction(accepted, action({ action: 'reopen' }, 3))).toMatchObject({ state: 'open', assignee: null, approver: null, expiresAt: null })
  })

  it('reopens an accepted difference once its acceptance expires', () => {
    const accepted = applyAction(UNTRIAGED, action({ action: 'accept', approver: 'cy', expiresAt: '2026-11-15' }, 1))
    const entry = { rulesSeen: [{ rulesHash: 'sha256:r1', lastSeen: at(5) }] }
    expect(triageView(accepted, entry, new Date('2026-11-14T23:59:59Z'))).toMatchObject({ state: 'accepted', expired: false })
    expect(triageView(accepted, entry, new Date('2026-11-15T00:00:00Z'))).toMatchObject({ state: 'open', expired: true, approver: 'cy' })
  })

  it('reopens a promised fix as a regression when it recurs under other rules, not while the old rules still run', () => {
    const promised = applyAction(UNTRIAGED, action({ action: 'expect-fix', rulesHash: 'sha256:r1' }, 10))
    const now = new Date(at(60))
    const seen = (...pairs: [string, number][]) => ({ rulesSeen: pairs.map(([rulesHash, minute]) => ({ rulesHash, lastSeen: at(minute) })) })
    expect(triageView(promised, seen(['sha256:r1', 5]), now)).toMatchObject({ state: 'fix-expected', regression: false })
    expect(triageView(promised, seen(['sha256:r1', 20]), now)).toMatchObject({ state: 'fix-expected', regression: false })
    // Under the old rules before the promise, and again after it: still not a regression.
    expect(triageView(promised, seen(['sha256:r2', 5], ['sha256:r1', 30]), now)).toMatchObject({ state: 'fix-expected', regression: false })
    expect(triageView(promised, seen(['sha256:r1', 5], ['sha256:r2', 20]), now)).toMatchObject({ state: 'open', regression: true })
    // A later occurrence on an instance still on the old rules does not hide the regression.
    expect(triageView(promised, seen(['sha256:r2', 20], ['sha256:r1', 30]), now)).toMatchObject({ state: 'open', regression: true })
  })

  it("keeps a defect's ticket and drops it when the signature moves on", () => {
    const defect = applyAction(UNTRIAGED, action({ action: 'mark-legacy-data-defect', ticket: 'PAS-123' }, 1))
    expect(defect).toMatchObject({ state: 'legacy-data-defect', ticket: 'PAS-123' })
    expect(applyAction(defect, action({ action: 'wont-fix' }, 2))).toMatchObject({ state: 'wont-fix', ticket: null })
  })
})
