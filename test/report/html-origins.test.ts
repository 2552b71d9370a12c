import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { renderHtml } from '../../src/report/render-html.ts'
import { buildReport, ComparisonAggregator } from '../../src/report/report.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

describe('the HTML report', () => {
  it('says where a slice’s comparisons came from: live traffic, reconciliation runs, replays', () => {
    const config = validateConfig({
      sides: { legacy: 'legacy', modern: 'modern' },
      upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
      slices: { 'coverage-status': { description: 'In force?', authority: 'legacy', routes: [{ method: 'GET', path: '/c' }] } },
    })
    const rulesHash = config.slices[0]?.compare.rulesHash
    const aggregator = new ComparisonAggregator()
    const records = [
      ...Array.from({ length: 3 }, () => comparison({ rulesHash })),
      ...Array.from({ length: 2 }, () => comparison({ rulesHash, origin: 'reconcile', causationId: 'rec-1' })),
      comparison({ rulesHash, origin: 'replay', causationId: 'e1' }),
    ]
    for (const record of records) aggregator.add(record)
    const html = renderHtml(buildReport(aggregator, config.slices, { source: 'test', window: { from: null, to: null } }))
    expect(html).toContain('of 6 comparisons: live 3, reconciliation 2, replay 1')
  })
})
