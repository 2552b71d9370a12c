import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import type { SliceReport } from '../../src/report/report.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { poll } from '../helpers/wait.ts'

const json = (body: unknown) => (_request: unknown, response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

// Modern answers another price for every policy: one genuine conflict signature.
const fixture = gatewayWithUpstreams({
  legacy: json({ status: 'ACTIVE', price: 1 }),
  modern: json({ status: 'ACTIVE', price: 2 }),
  config: (legacyUrl, modernUrl) => {
    // Every comparison differs: with all of them accepted there is no sample left to judge, hence minSamples 0.
    const config = sampleConfig(legacyUrl, modernUrl, { readiness: { minSamples: 0, minMatchRate: 0, latency: false, minSoakHours: 0 } })
    config.slices['policy-status']!.shadow = {}
    return config
  },
})

const admin = (path: string, body?: unknown) =>
  send(`${fixture.gateway.adminUrl}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ana@ops' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
const report = async (): Promise<SliceReport> => JSON.parse((await admin('/slices/policy-status/report')).body) as SliceReport

describe('the admin report with triage', () => {
  it('moves an accepted signature out of disagreement while its acceptance holds, and back when it expires', async () => {
    for (let i = 0; i < 4; i++) await send(`${fixture.gateway.url}/policy/P-${i}/status`, { headers: { 'x-request-id': `acc-${i}` } })
    await comparisonOf(fixture.gateway.dataDir, 'acc-3')
    const open = await report()
    expect(open).toMatchObject({ disagreements: 4, accepted: 0, readiness: { ready: false }, triage: { source: 'file', open: { count: 1 } } })

    const [entry] = (JSON.parse((await admin('/discrepancies?slice=policy-status')).body) as { entries: DiscrepancyEntry[] }).entries
    const expiresAt = new Date(Date.now() + 1_500).toISOString()
    const accepted = await admin(`/discrepancies/${entry!.id}/triage`, {
      action: 'accept',
      approver: 'cy@claims',
      expiresAt,
      reason: 'modern prices are intended',
    })
    expect(accepted.status).toBe(200)
    const held = await report()
    expect(held).toMatchObject({ disagreements: 0, accepted: 4, readiness: { ready: true, accepted: 4 } })
    expect(held.triage.accepted).toEqual([expect.objectContaining({ id: entry!.id, reason: 'modern prices are intended', approver: 'cy@claims', expiresAt })])

    const expired = await poll(report, (shown) => shown.accepted === 0)
    expect(expired).toMatchObject({ disagreements: 4, readiness: { ready: false, accepted: 0 }, triage: { accepted: [], open: { top: [{ expired: true }] } } })
  })
})
