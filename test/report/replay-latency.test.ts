import { describe, expect, it } from 'vitest'
import { SliceAggregate } from '../../src/report/slice-aggregate.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

// A replay (ficus recompare) judges captured answers again without calling either side: its side
// records carry the original's latencies and statuses, which the original already counted.
describe('a replay in the report', () => {
  it('counts as evidence of its rules but adds no latency, call or error a second time', () => {
    const original = comparison({ category: 'untranslated', legacyMs: 40, modernMs: 900, rulesHash: 'sha256:old' })
    const replay = comparison({ category: 'match', legacyMs: 40, modernMs: 900, rulesHash: 'sha256:new', origin: 'replay', causationId: original.eventId })
    const live = comparison({ category: 'match', legacyMs: 20, modernMs: 30, rulesHash: 'sha256:new' })
    const newRules = new SliceAggregate('coverage-status', 'sha256:new')
    newRules.add(replay)
    newRules.add(live)
    expect(newRules.families.match).toBe(2)
    expect(newRules.latency.modern.count).toBe(1)
    expect(newRules.latency.modern.quantile(1)).toBeLessThan(100)
    expect(newRules.calls).toEqual({ legacy: 1, modern: 1 })
    const hours = newRules.windowed(null, null)
    expect(hours.families.match).toBe(2)
    expect(hours.latency.modern.count).toBe(1)
    expect(hours.calls).toEqual({ legacy: 1, modern: 1 })

    // Merged across rules (a slice's report over every version), each call is counted once.
    const all = new SliceAggregate('coverage-status', 'sha256:old')
    all.add(original)
    all.merge(newRules)
    expect(all.latency.legacy.count).toBe(2)
    expect(all.latency.modern.count).toBe(2)
    expect(all.calls).toEqual({ legacy: 2, modern: 2 })
  })
})
