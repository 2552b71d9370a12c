import { describe, expect, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { applyAction, triageView, UNTRIAGED } from '../../src/register/triage.ts'
import { DEFAULT_READINESS, verdict } from '../../src/report/readiness.ts'
import { MAX_SIGNATURES, SliceAggregate } from '../../src/report/slice-aggregate.ts'
import type { SliceTriage } from '../../src/report/slice-triage.ts'
import { comparison, TEST_RULES_HASH } from '../helpers/generated-comparisons.ts'

// Ways a slice could look ready by accident, found by a hostile review: each must keep it not ready.
const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.parse('2026-11-20T12:00:00Z')
const SLICE = 'coverage-status'

function entry(record: Comparison, firstSeen: number, count = 1): DiscrepancyEntry {
  const signature = signatureOf(record)!
  return {
    ...signature,
    count,
    firstSeen: new Date(firstSeen).toISOString(),
    lastSeen: record.requestTime,
    entities: 1,
    examples: [],
    rulesHashes: [record.rulesHash],
    rulesSeen: [{ rulesHash: record.rulesHash, lastSeen: record.requestTime }],
  }
}

describe('the open backlog never passes on what it cannot see', () => {
  it('an untriaged genuine conflict open for 30 days blocks the slice even when the aggregate has run out of signature slots', () => {
    const thresholds = { ...DEFAULT_READINESS, maxConflictRatePercent: 100, minSamples: 1, minMatchRatePercent: 0, minSoakHours: 0, maxLatencyRatio: null }
    const aggregate = new SliceAggregate(SLICE, TEST_RULES_HASH)
    // A busy slice: MAX_SIGNATURES distinct fresh conflicts (seen in the last hour, all recent in the register).
    for (let i = 0; i < MAX_SIGNATURES; i++)
      aggregate.add(comparison({ slice: SLICE, category: 'body-mismatch', diffPaths: [`/body/f${i}`], eventTime: new Date(NOW - HOUR) }))
    // The one that matters: first seen 30 days ago, never triaged, still recurring.
    const stale = comparison({ slice: SLICE, category: 'body-mismatch', diffPaths: ['/body/premium'], eventTime: new Date(NOW - HOUR) })
    aggregate.add(stale)
    const triage: SliceTriage = { available: true, source: 'redis', signatures: [{ entry: entry(stale, NOW - 30 * DAY), status: UNTRIAGED }] }
    const judged = verdict(aggregate.windowed(NOW - 7 * DAY, NOW), thresholds, { rulesHash: TEST_RULES_HASH, from: NOW - 7 * DAY, to: NOW }, triage)
    const backlog = judged.criteria.find((criterion) => criterion.id === 'open-backlog')!
    // Past the signatures the evidence keeps, the old conflict cannot be named: the criterion says so and is not met.
    expect(backlog.detail).toContain('1 differing comparison(s) beyond the signatures the evidence keeps cannot be judged')
    expect(backlog.met).toBe(false)
  })

  it('treats an acceptance whose expiry does not parse (a hand-edited log) as expired', () => {
    const accepted = applyAction(UNTRIAGED, {
      id: 'a',
      signature: 's',
      action: 'accept',
      actor: 'ana',
      reason: 'intended',
      instance: 'i',
      at: new Date(NOW - HOUR).toISOString(),
      approver: 'cy',
      expiresAt: 'next spring',
    })
    expect(triageView(accepted, { rulesSeen: [] }, new Date(NOW))).toMatchObject({ state: 'open', expired: true })
  })
})
