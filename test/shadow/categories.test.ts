import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Value } from '@sinclair/typebox/value'
import { ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { loadConfig } from '../../src/config/load.ts'
import { startExampleServices, type RunningExamples } from '../../examples/example-services.ts'
import { comparisonOf, readComparisons } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { ROOT } from '../helpers/processes.ts'
import { startUpstream } from '../helpers/upstream-server.ts'

// The example migration as shipped: routes.config.ts in front of the example services.
let examples: RunningExamples
let gateway: TestGateway

beforeAll(async () => {
  examples = await startExampleServices({ ephemeral: true })
  Object.assign(process.env, examples.env)
  gateway = await startTestGateway(await loadConfig('routes.config.ts', ROOT))
})
afterAll(async () => {
  await gateway.stop()
  await examples.close()
})

async function categoryOf(path: string, requestId: string) {
  await send(`${gateway.url}${path}`, { headers: { 'x-request-id': requestId } })
  return comparisonOf(gateway.dataDir, requestId)
}

describe('every family, from the example insurer', () => {
  it('match: billing eligibility agrees once Y/N and amounts are translated', async () => {
    expect(await categoryOf('/pas/v1/billing/P-1001/eligibility', 'cat-match')).toMatchObject({
      category: 'match',
      family: 'match',
      outcome: 'agree',
      primary: { side: 'modern', upstream: 'billing-context' },
      shadow: { side: 'legacy', upstream: 'legacy-pas' },
      translationVersion: 'billing-eligibility/1',
      entityKey: 'P-1001',
      rulesHash: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) as string,
    })
  })

  it('noise: only once repeated double-asks show asOf changing on its own; until then a conflict, and kept in the record', async () => {
    const first = await categoryOf('/pas/v1/policy/P-1002/status', 'cat-noise-0')
    expect(first).toMatchObject({ family: 'genuine-conflict', diff: [{ path: '/body/asOf' }] })
    for (let i = 1; i <= 3; i++) await categoryOf('/pas/v1/policy/P-1002/status', `cat-noise-${i}`)
    const record = await categoryOf('/pas/v1/policy/P-1001/status', 'cat-noise')
    expect(record).toMatchObject({
      category: 'noise',
      family: 'noise',
      outcome: 'agree',
      diff: [],
      noisePaths: ['/body/asOf'],
      noiseDiff: [{ path: '/body/asOf', kind: 'changed' }],
    })
  })

  it('translation defect: PNDC is a legacy status the translation does not know', async () => {
    const record = await categoryOf('/pas/v1/policy/P-1004/status', 'cat-untranslated')
    expect(record).toMatchObject({
      category: 'untranslated',
      family: 'translation-defect',
      outcome: 'disagree',
      untranslated: [{ path: '/body/status', rule: 'values', value: 'PNDC' }],
    })
    expect(record.diff.map((entry) => entry.path)).toEqual(['/body/status'])
  })

  it('timing lag: the lagging Policy context converges when asked again, and the lag is measured', async () => {
    const record = await categoryOf('/pas/v1/policy/P-1005/status', 'cat-lag')
    expect(record).toMatchObject({ category: 'timing-lag', family: 'timing-lag', outcome: 'agree', reasked: true })
    // The read model catches up 250 ms after it first saw the request: re-asked at 150 ms (stale), then 450 ms.
    expect(record.reasks).toBe(2)
    expect(record.lagMs).toBeGreaterThanOrEqual(440)
  })

  it('source-data defect: the legacy record breaks the new model (a negative premium), told apart from a conflict', async () => {
    const record = await categoryOf('/pas/v1/policy/P-1007/status', 'cat-source')
    expect(record).toMatchObject({
      category: 'rule-violation',
      family: 'source-data-defect',
      outcome: 'disagree',
      cause: 'range /body/premium/amount',
      violations: [{ path: '/body/premium/amount', rule: 'range' }],
    })
  })

  it('not compared: an answer over the capture cap is never a conflict', async () => {
    const record = await categoryOf('/pas/v1/policy/P-1008/status', 'cat-oversize')
    expect(record).toMatchObject({ category: 'not-compared', family: 'not-compared', outcome: 'not-compared', cause: 'over-capture-cap', diff: [] })
  })

  it('genuine conflict: small arrears, decided differently', async () => {
    const record = await categoryOf('/pas/v1/billing/P-1006/eligibility', 'cat-conflict')
    expect(record).toMatchObject({
      category: 'body-mismatch',
      family: 'genuine-conflict',
      outcome: 'disagree',
      diff: [{ path: '/body/eligible', kind: 'changed' }],
    })
    expect(record.diff[0]).not.toHaveProperty('legacy')
    expect(record.diff[0]?.legacyHash).toMatch(/^hmac-sha256:[0-9a-f]{32}$/)
  })

  it('match for a write shadowed as a dry run, through the translate escape hatch', async () => {
    const response = await send(`${gateway.url}/pas/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'cat-write' },
      body: '{"pol_no":"P-1001","loss_dt":"2026-11-20"}',
    })
    expect(response.status).toBe(201)
    expect(await comparisonOf(gateway.dataDir, 'cat-write')).toMatchObject({ category: 'match', method: 'POST', translationVersion: 'claim-lodgement/2' })
  })

  it('records lineage: ids, versions, instance, both sides', async () => {
    const record = await categoryOf('/pas/v1/policy/P-1002/claims/lodgement-check?loss_date=2026-01-01', 'cat-lineage')
    expect(record).toMatchObject({
      schemaVersion: 1,
      eventType: 'ficus.comparison',
      slice: 'claim-lodgement',
      route: 'GET /pas/v1/policy/:policyNumber/claims/lodgement-check',
      requestId: 'cat-lineage',
      authority: 'legacy',
      flagVersion: 0,
      configVersion: gateway.config.version,
      instance: 'test-gw',
      primary: { side: 'legacy', status: 200 },
      shadow: { side: 'modern', status: 200 },
    })
    expect(record.eventId).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(record.eventTime)).toBeGreaterThanOrEqual(Date.parse(record.requestTime))
  })
})

describe('the records', () => {
  it('all validate against the published JSON Schema', async () => {
    const { records } = await readComparisons(gateway.dataDir)
    expect(records.length).toBeGreaterThanOrEqual(7)
    for (const record of records)
      expect(
        [...Value.Errors(ComparisonSchema, record)].map((e) => `${e.path}: ${e.message}`),
        record.requestId,
      ).toEqual([])
  })
})

describe('status-mismatch', () => {
  it('is the category when the sides answer different statuses', async () => {
    const legacy = await startUpstream('legacy')
    const modern = await startUpstream('modern', (_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' })
      response.end('{}')
    })
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = {}
    const own = await startTestGateway(config)
    try {
      await send(`${own.url}/policy/P-1/status`, { headers: { 'x-request-id': 'cat-status' } })
      expect(await comparisonOf(own.dataDir, 'cat-status')).toMatchObject({
        category: 'status-mismatch',
        family: 'genuine-conflict',
        diff: [{ path: '/status', kind: 'changed' }],
      })
    } finally {
      await own.stop()
      await legacy.close()
      await modern.close()
    }
  })
})
