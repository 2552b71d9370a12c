import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AuthorityState } from '../../src/authority/authority-store.ts'
import { watchDrift } from '../../src/app/drift-watch.ts'
import type { EvidenceSource } from '../../src/report/reporter/evidence-sources.ts'
import { ComparisonAggregator } from '../../src/report/report.ts'
import { comparison, TEST_RULES_HASH } from '../helpers/generated-comparisons.ts'
import { capturingLogger } from '../helpers/logs.ts'

const HOUR = 3_600_000
const NOW = Date.parse('2026-11-20T12:30:00Z')
const SLICE = 's'
const RULE = { minAgreementPercent: 90, windowHours: 1, minSamples: 10 }

function setUp(authority: () => string, aggregator: ComparisonAggregator, rule = RULE, updatedAt: () => string | null = () => null) {
  const { logger, lines } = capturingLogger()
  const recorded: ({ agreement: number | null; alerting: boolean } | undefined)[] = []
  const config = { slices: [{ id: SLICE, authority: 'legacy', shadow: {}, drift: rule, compare: { rulesHash: TEST_RULES_HASH } }] } as never
  const evidence: EvidenceSource = {
    kind: 'local',
    versions: (id) => Promise.resolve(aggregator.slices.get(id)),
    reader: () => Promise.resolve((id: string) => aggregator.slices.get(id)),
  }
  const stop = watchDrift({
    config,
    evidence,
    authorityOf: () => ({ sliceId: SLICE, authority: authority(), version: 1, changeId: 'c1', updatedAt: updatedAt() }) as unknown as AuthorityState,
    metrics: { recordDrift: (_slice: string, drift: { agreement: number | null; alerting: boolean } | undefined) => void recorded.push(drift) },
    logger,
    intervalMs: 1_000,
  })
  const drift = () => lines.filter((line) => String(line.msg).startsWith('drift:'))
  return { stop, recorded, drift }
}

function add(aggregator: ComparisonAggregator, n: number, category: 'match' | 'body-mismatch', at: number): void {
  for (let i = 0; i < n; i++)
    aggregator.add(comparison({ slice: SLICE, category, eventTime: new Date(at), ...(category === 'match' ? {} : { diffPaths: ['/body/x'] }) }))
}

afterEach(() => vi.useRealTimers())

describe('the drift watch', () => {
  it('does not treat "0%" (every request still answered by legacy) as a slice that moved', async () => {
    vi.useFakeTimers({ now: NOW })
    const aggregator = new ComparisonAggregator()
    add(aggregator, 20, 'body-mismatch', NOW - 60_000)
    const { stop, recorded, drift } = setUp(() => '0%', aggregator)
    await vi.advanceTimersByTimeAsync(1_000)
    stop()
    expect(recorded.at(-1)).toBeUndefined()
    expect(drift()).toEqual([])
  })

  it('does not alarm right after a flip on evidence gathered while legacy still answered, when every comparison since agrees', async () => {
    vi.useFakeTimers({ now: NOW })
    const aggregator = new ComparisonAggregator()
    let authority = 'legacy'
    // Before the flip (a forced one, or with accepted differences): 40 % raw disagreement.
    add(aggregator, 30, 'match', NOW - 40 * 60_000)
    add(aggregator, 20, 'body-mismatch', NOW - 40 * 60_000)
    let flippedAt: string | null = null
    const { stop, drift } = setUp(
      () => authority,
      aggregator,
      RULE,
      () => flippedAt,
    )
    await vi.advanceTimersByTimeAsync(1_000)
    authority = 'modern'
    flippedAt = new Date(Date.now()).toISOString()
    // After the flip: every comparison agrees — no regression.
    add(aggregator, 50, 'match', Date.now())
    await vi.advanceTimersByTimeAsync(1_000)
    stop()
    expect(drift()).toEqual([])
  })

  it('logs when an alarm ends because the slice went back to legacy (kill switch), as the README promises', async () => {
    vi.useFakeTimers({ now: NOW })
    const aggregator = new ComparisonAggregator()
    let authority = 'modern'
    add(aggregator, 20, 'body-mismatch', NOW - 60_000)
    const { stop, drift } = setUp(() => authority, aggregator)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(drift()).toHaveLength(1)
    authority = 'legacy'
    await vi.advanceTimersByTimeAsync(1_000)
    stop()
    expect(drift()).toHaveLength(2)
  })

  it('does not say agreement is "back within the rule" when only the sample count fell under minSamples', async () => {
    vi.useFakeTimers({ now: NOW })
    const aggregator = new ComparisonAggregator()
    // 12:00–12:30: 20 comparisons, all differing: alarm.
    add(aggregator, 20, 'body-mismatch', NOW - 10 * 60_000)
    const { stop, drift } = setUp(() => 'modern', aggregator)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(drift()).toHaveLength(1)
    // Two hours on, the window holds 5 comparisons, all still differing (agreement 0 %).
    vi.setSystemTime(NOW + 2 * HOUR)
    add(aggregator, 5, 'body-mismatch', NOW + 2 * HOUR)
    await vi.advanceTimersByTimeAsync(1_000)
    stop()
    const ended = drift().find((line) => String(line.msg).includes('back within'))
    expect(ended, `logged: ${JSON.stringify(ended)}`).toBeUndefined()
  })

  it('fires once, from the first whole hour after the flip, when the slice that moved disagrees, and ends when it agrees again', async () => {
    vi.useFakeTimers({ now: NOW })
    const aggregator = new ComparisonAggregator()
    const flippedAt = new Date(NOW - 2 * HOUR).toISOString()
    // The hour after the flip's hour: 15 of 20 differ.
    add(aggregator, 5, 'match', NOW - 10 * 60_000)
    add(aggregator, 15, 'body-mismatch', NOW - 10 * 60_000)
    const { stop, recorded, drift } = setUp(
      () => 'modern',
      aggregator,
      RULE,
      () => flippedAt,
    )
    await vi.advanceTimersByTimeAsync(3_000)
    expect(recorded.at(-1)).toEqual({ agreement: 0.25, alerting: true })
    expect(drift()).toEqual([expect.objectContaining({ level: 40, slice: SLICE, agreement: 0.25, samples: 20 })])
    // Two hours on, the hour in the window agrees.
    vi.setSystemTime(NOW + 2 * HOUR)
    add(aggregator, 30, 'match', NOW + 2 * HOUR)
    await vi.advanceTimersByTimeAsync(1_000)
    stop()
    expect(recorded.at(-1)).toEqual({ agreement: 1, alerting: false })
    expect(drift().map((line) => line.level)).toEqual([40, 30])
  })
})
