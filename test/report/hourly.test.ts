import { describe, expect, it } from 'vitest'
import { ComparisonAggregator, sliceReport } from '../../src/report/report.ts'
import { comparison, TEST_RULES_HASH } from '../helpers/generated-comparisons.ts'

const HOUR = 3_600_000
const NOW = Date.parse('2026-11-20T12:30:00Z')

describe('families by hour', () => {
  it('lists each hour of the current rules with its families and agreement, oldest first', () => {
    const aggregator = new ComparisonAggregator()
    const at = (hoursAgo: number): Date => new Date(NOW - hoursAgo * HOUR)
    for (let i = 0; i < 4; i++) aggregator.add(comparison({ slice: 's', category: 'match', eventTime: at(2) }))
    // An hour after a flip: conflicts appear.
    for (let i = 0; i < 3; i++) aggregator.add(comparison({ slice: 's', category: 'match', eventTime: at(0) }))
    aggregator.add(comparison({ slice: 's', category: 'body-mismatch', diffPaths: ['/body/x'], eventTime: at(0) }))
    const compare = { rulesHash: TEST_RULES_HASH, translationVersion: null } as never
    const report = sliceReport('s', aggregator.slices.get('s'), { description: 'd', owner: null, readiness: undefined, compare } as never, { now: NOW })
    expect(report.hourly.map((hour) => [hour.start, hour.families.match, hour.families['genuine-conflict'], hour.matchRate])).toEqual([
      ['2026-11-20T10:00:00.000Z', 4, 0, 1],
      ['2026-11-20T12:00:00.000Z', 3, 1, 0.75],
    ])
  })
})
