import { describe, expect, it } from 'vitest'
import type { Category } from '../../src/compare/classify.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { SliceConfig } from '../../src/config/types.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { applyAction, UNTRIAGED, type TriageRecord, type TriageStatus } from '../../src/register/triage.ts'
import { renderHtml } from '../../src/report/render-html.ts'
import { renderMarkdown } from '../../src/report/render-markdown.ts'
import { renderText } from '../../src/report/render-text.ts'
import { DEFAULT_READINESS, type Criterion, type CriterionId } from '../../src/report/readiness.ts'
import { buildReport, ComparisonAggregator, sliceReport, type SliceReport } from '../../src/report/report.ts'
import { MAX_SIGNATURES, SliceAggregate } from '../../src/report/slice-aggregate.ts'
import type { SliceTriage } from '../../src/report/slice-triage.ts'
import { comparison, TEST_RULES_HASH } from '../helpers/generated-comparisons.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.parse('2026-11-20T12:00:00Z')
const SLICE = 'coverage-status'
const NEW_RULES = 'sha256:fedcba9876543210'
const THRESHOLDS = { ...DEFAULT_READINESS, minSamples: 100, minMatchRatePercent: 95, minSoakHours: 1, maxLatencyRatio: null }
type ReportedSlice = Pick<SliceConfig, 'description' | 'owner' | 'readiness' | 'compare'>
const compareRules = (rulesHash: string): SliceConfig['compare'] => ({ rulesHash, translationVersion: null }) as unknown as SliceConfig['compare']
const CONFIG: ReportedSlice = { description: 'In force?', owner: null, readiness: THRESHOLDS, compare: compareRules(TEST_RULES_HASH) }

/** 400 matches and 20 conflicts on /body/status over the last three hours, under `rulesHash`. */
function records(rulesHash = TEST_RULES_HASH, conflicts = 20): Comparison[] {
  const at = (i: number): Date => new Date(NOW - 3 * HOUR + i * 20_000)
  const one = (category: Category, i: number): Comparison =>
    comparison({ slice: SLICE, category, rulesHash, eventTime: at(i), ...(category === 'body-mismatch' ? { diffPaths: ['/body/status'] } : {}) })
  return [...Array.from({ length: 400 }, (_, i) => one('match', i)), ...Array.from({ length: conflicts }, (_, i) => one('body-mismatch', i))]
}

function aggregated(list: readonly Comparison[]): Map<string, SliceAggregate> {
  const aggregator = new ComparisonAggregator()
  for (const record of list) aggregator.add(record)
  return aggregator.slices.get(SLICE) ?? new Map<string, SliceAggregate>()
}

/** The register entry of the conflicts' signature, as the register would hold it. */
function entryOf(list: readonly Comparison[], firstSeen: number): DiscrepancyEntry {
  const differing = list.filter((record) => record.family === 'genuine-conflict')
  const signature = signatureOf(differing[0] as Comparison)!
  const rulesSeen = [...new Set(differing.map((record) => record.rulesHash))].map((rulesHash) => ({
    rulesHash,
    lastSeen: differing.filter((record) => record.rulesHash === rulesHash).at(-1)!.requestTime,
  }))
  return {
    ...signature,
    count: differing.length,
    firstSeen: new Date(firstSeen).toISOString(),
    lastSeen: differing.at(-1)!.requestTime,
    entities: 1,
    examples: [],
    rulesHashes: rulesSeen.map((seen) => seen.rulesHash),
    rulesSeen,
  }
}

function status(action: Partial<TriageRecord> & Pick<TriageRecord, 'action' | 'at'>): TriageStatus {
  return applyAction(UNTRIAGED, { id: 'a', signature: 's', actor: 'ana@ops', reason: 'the new rounding is intended', instance: 'i', ...action })
}

const triaged = (entry: DiscrepancyEntry, triage: TriageStatus): SliceTriage => ({ available: true, source: 'file', signatures: [{ entry, status: triage }] })

function report(list: readonly Comparison[], triage?: SliceTriage, rulesHash = TEST_RULES_HASH): SliceReport {
  return sliceReport(SLICE, aggregated(list), { ...CONFIG, compare: compareRules(rulesHash) }, { now: NOW, ...(triage ? { triage } : {}) })
}

const criterion = (slice: SliceReport, id: CriterionId): Criterion => slice.readiness.criteria.find((item) => item.id === id) as Criterion

describe('triage in the verdict', () => {
  const list = records()
  const entry = entryOf(list, NOW - 3 * HOUR)
  const accept = (expiresAt: number): SliceTriage =>
    triaged(entry, status({ action: 'accept', at: new Date(NOW - HOUR).toISOString(), approver: 'cy@claims', expiresAt: new Date(expiresAt).toISOString() }))

  it('sets the comparisons of an accepted signature apart: out of disagreement and out of the conflicts criterion', () => {
    const open = report(list, triaged(entry, UNTRIAGED))
    expect(open).toMatchObject({ samples: 420, disagreements: 20, accepted: 0, readiness: { ready: false, accepted: 0 } })
    expect(criterion(open, 'conflicts')).toMatchObject({ met: false, detail: '20 genuine conflict(s) in 420 compared samples, 4.76 % (none allowed)' })

    const accepted = report(list, accept(NOW + DAY))
    expect(accepted).toMatchObject({ samples: 400, disagreements: 0, accepted: 20, readiness: { ready: true, accepted: 20 } })
    expect(accepted.matchRate?.value).toBe(1)
    expect(accepted.families['genuine-conflict']).toBe(20)
    expect(criterion(accepted, 'conflicts')).toMatchObject({ met: true, detail: '0 genuine conflict(s) in 400 compared samples, 0.00 % (none allowed)' })
    expect(criterion(accepted, 'samples').detail).toBe('400 compared samples (at least 100); 20 accepted difference(s) set apart')
    expect(accepted.triage.accepted).toEqual([
      expect.objectContaining({
        id: entry.id,
        reason: 'the new rounding is intended',
        approver: 'cy@claims',
        expiresAt: new Date(NOW + DAY).toISOString(),
        comparisons: 20,
      }),
    ])
  })

  it('puts them back in disagreement once the acceptance has expired', () => {
    const expired = report(list, accept(NOW - 1))
    expect(expired).toMatchObject({ samples: 420, disagreements: 20, accepted: 0, readiness: { ready: false, accepted: 0 } })
    expect(criterion(expired, 'conflicts').met).toBe(false)
    expect(expired.triage.accepted).toEqual([])
    expect(expired.triage.open).toMatchObject({ count: 1, top: [{ id: entry.id, state: 'open', expired: true }] })
  })

  it('blocks on a fix expected under one rules version that recurs under a later one: a regression', () => {
    const promised = new Date(NOW - 2 * DAY).toISOString()
    const fixExpected = status({ action: 'expect-fix', at: promised, rulesHash: TEST_RULES_HASH })
    // The same conflict, seen again under the new rules after the promise.
    const again = records(NEW_RULES, 1)
    const recurred = entryOf([...list.map((record) => ({ ...record, requestTime: new Date(NOW - 3 * DAY).toISOString() })), ...again], NOW - 3 * DAY)
    const slice = report([...list, ...again], triaged(recurred, fixExpected), NEW_RULES)
    expect(criterion(slice, 'open-backlog')).toMatchObject({
      met: false,
      detail: expect.stringContaining(`1 regression(s): ${recurred.id} 3.0 d (genuine-conflict)`) as string,
    })
    expect(slice.triage.regressions).toEqual([expect.objectContaining({ id: recurred.id, fixExpectedUnder: TEST_RULES_HASH, promisedAt: promised })])
    // Not recurred: the fix held, nothing blocks.
    const held = report(list.slice(0, 400), triaged(entryOf(list, NOW - 3 * DAY), fixExpected))
    expect(criterion(held, 'open-backlog').met).toBe(true)
  })

  it('blocks on a genuine conflict left open longer than maxOpenConflictAgeDays, not on a young or triaged one', () => {
    const tolerant: ReportedSlice = { ...CONFIG, readiness: { ...THRESHOLDS, maxConflictRatePercent: 10, minMatchRatePercent: 90 } }
    const judge = (firstSeen: number, triage: TriageStatus): Criterion =>
      criterion(sliceReport(SLICE, aggregated(list), tolerant, { now: NOW, triage: triaged(entryOf(list, firstSeen), triage) }), 'open-backlog')
    const old = judge(NOW - 10 * DAY, UNTRIAGED)
    expect(old).toMatchObject({ met: false, threshold: 7, detail: `1 genuine conflict(s) open longer than 7 d: ${entry.id} 10.0 d (triage them)` })
    expect(old.actual).toBeCloseTo(10)
    expect(judge(NOW - 10 * DAY, status({ action: 'assign', at: new Date(NOW).toISOString(), assignee: 'bo' })).met).toBe(false)
    expect(judge(NOW - 2 * DAY, UNTRIAGED)).toMatchObject({
      met: true,
      detail: `1 open genuine conflict(s), oldest ${entry.id} 2.0 d (at most 7 d), no regression`,
    })
    expect(judge(NOW - 10 * DAY, status({ action: 'mark-modern-defect', at: new Date(NOW).toISOString(), ticket: 'POL-1' })).met).toBe(true)
    const sliceReady = sliceReport(SLICE, aggregated(list), tolerant, { now: NOW, triage: triaged(entryOf(list, NOW - 2 * DAY), UNTRIAGED) })
    expect(sliceReady.readiness.ready).toBe(true)
  })

  it('never passes the backlog it could not read, unless the evidence has nothing to triage', () => {
    const unread = report(list)
    expect(criterion(unread, 'open-backlog')).toMatchObject({
      met: false,
      actual: null,
      detail: 'triage not read (the discrepancy register was not read): the backlog of 20 differing comparison(s) cannot be judged',
    })
    expect(unread.triage).toMatchObject({ source: null, unavailable: 'the discrepancy register was not read' })
    const down = report(list, { available: false, reason: 'Redis is unreachable' })
    expect(criterion(down, 'open-backlog').detail).toContain('triage not read (Redis is unreachable)')
    expect(criterion(report(list.slice(0, 400)), 'open-backlog').met).toBe(true)
  })
})

describe('signatures in the evidence', () => {
  it('are counted per hour, survive JSON (and JSON saved without them), and merge', () => {
    const list = records()
    const [aggregate] = [...aggregated(list).values()] as [SliceAggregate]
    const id = signatureOf(list[400] as Comparison)!.id
    expect(aggregate.signatures.get(id)).toEqual({ family: 'genuine-conflict', count: 20 })
    expect(aggregate.windowed(NOW - DAY, NOW).signatures.get(id)).toMatchObject({ family: 'genuine-conflict', count: 20 })
    const restored = SliceAggregate.fromJSON(JSON.parse(JSON.stringify(aggregate)) as ReturnType<SliceAggregate['toJSON']>)
    expect(restored.windowed(NOW - DAY, NOW).signatures).toEqual(aggregate.windowed(NOW - DAY, NOW).signatures)
    restored.merge(aggregate)
    expect(restored.signatures.get(id)?.count).toBe(40)
    expect(restored.windowed(NOW - DAY, NOW).signatures.get(id)?.count).toBe(40)
    const { signatures: _signatures, unsigned: _unsigned, ...old } = aggregate.toJSON()
    const legacy = SliceAggregate.fromJSON({
      ...old,
      evidence: Object.fromEntries(Object.entries(old.evidence ?? {}).map(([hour, { signatures: _s, unsigned: _u, ...bucket }]) => [hour, bucket])),
    })
    expect(legacy.signatures.size).toBe(0)
    expect(legacy.families['genuine-conflict']).toBe(20)
  })

  it('keeps at most MAX_SIGNATURES apart; the rest are unsigned and can never be accepted', () => {
    const aggregate = new SliceAggregate(SLICE, TEST_RULES_HASH)
    for (let i = 0; i <= MAX_SIGNATURES; i++)
      aggregate.add(comparison({ slice: SLICE, category: 'body-mismatch', diffPaths: [`/body/f${i}`], eventTime: new Date(NOW - HOUR) }))
    expect(aggregate.signatures.size).toBe(MAX_SIGNATURES)
    expect(aggregate.unsigned).toBe(1)
    expect(aggregate.windowed(null, null)).toMatchObject({ unsigned: 1 })
  })
})

describe('the report outputs', () => {
  it('always show the accepted count and a triage section, with reasons and expiries', () => {
    const list = records()
    const entry = entryOf(list, NOW - 3 * HOUR)
    const expiresAt = new Date(NOW + DAY).toISOString()
    const accepted = triaged(entry, status({ action: 'accept', at: new Date(NOW - HOUR).toISOString(), approver: 'cy@claims', expiresAt }))
    const aggregator = new ComparisonAggregator()
    for (const record of list) aggregator.add(record)
    const slices = [{ ...CONFIG, id: SLICE }] as unknown as Parameters<typeof buildReport>[1]
    const built = (triage?: SliceTriage) =>
      buildReport(aggregator, slices, { source: 'test', window: { from: null, to: null }, now: NOW, ...(triage ? { triage: () => triage } : {}) })

    const text = renderText(built(accepted))
    expect(text).toContain('  disagreement 0, accepted 20 (differences accepted in triage: in neither agreement nor disagreement)')
    expect(text).toContain(
      `  accepted: ${entry.id} genuine-conflict GET /policies/:id [/body/status] ×20, 20 in these figures; "the new rounding is intended" approved by cy@claims, until ${expiresAt}`,
    )
    expect(text).toContain('  triage (file): 0 open signature(s)')
    expect(text).toContain('  regressions: none')
    expect(renderText(built())).toContain('  disagreement 20, accepted 0 (')
    expect(renderText(built())).toContain('  triage: not available (the discrepancy register was not read)')

    const md = renderMarkdown(built(accepted))
    expect(md).toContain('| shadow errors | accepted |')
    expect(md).toContain('### Triage')
    expect(md).toContain(`- accepted: ${entry.id} genuine-conflict`)

    const html = renderHtml(built(accepted))
    expect(html).toContain('<div class="block triage"><h3>Triage</h3><p class="note">20 comparison(s) of accepted signatures are counted apart')
    expect(html).toContain('<td>the new rounding is intended</td><td>cy@claims</td>')

    const json = JSON.parse(JSON.stringify(built(accepted))) as { slices: SliceReport[] }
    expect(json.slices[0]).toMatchObject({
      accepted: 20,
      disagreements: 0,
      triage: { source: 'file', accepted: [{ id: entry.id, approver: 'cy@claims', expiresAt }] },
    })
  })
})
