import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

const json = (body: unknown) => (_request: unknown, response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

// Legacy and modern agree on the status and differ on the second item's price (an array index the
// register generalises), for every policy.
const fixture = gatewayWithUpstreams({
  legacy: json({ status: 'ACTIVE', items: [{ price: 1 }, { price: 2 }] }),
  modern: json({ status: 'ACTIVE', items: [{ price: 1 }, { price: 3 }] }),
  config: (legacyUrl, modernUrl) => {
    const config = sampleConfig(legacyUrl, modernUrl)
    const slice = config.slices['policy-status']!
    slice.shadow = {}
    slice.entityKey = { param: 'id' }
    return config
  },
})

describe('the discrepancy register through the gateway', () => {
  it('groups the live differences into one signature with its count, entities and examples, listed and shown on the admin API', async () => {
    for (let i = 0; i < 6; i++) await send(`${fixture.gateway.url}/policy/P-${i % 3}/status`, { headers: { 'x-request-id': `reg-${i}` } })
    await comparisonOf(fixture.gateway.dataDir, 'reg-5')
    const listed = (await (await fetch(`${fixture.gateway.adminUrl}/admin/discrepancies?slice=policy-status`)).json()) as {
      register: { signatures: number }
      entries: DiscrepancyEntry[]
    }
    expect(listed.register.signatures).toBe(1)
    expect(listed.entries).toHaveLength(1)
    const [entry] = listed.entries
    expect(entry).toMatchObject({ slice: 'policy-status', route: 'GET /policy/:id/status', family: 'genuine-conflict', count: 6, entities: 3 })
    expect(entry?.paths).toHaveLength(1)
    expect(entry?.paths[0]).toMatch(/\/\*\//)
    expect(entry?.examples).toEqual(['reg-5', 'reg-4', 'reg-3', 'reg-2', 'reg-1'])
    const shown = await fetch(`${fixture.gateway.adminUrl}/admin/discrepancies/${entry?.id ?? ''}`)
    expect(await shown.json()).toEqual(entry)
  })

  it('answers a bad filter with 400 or 404 and an unknown id with 404', async () => {
    const base = `${fixture.gateway.adminUrl}/admin/discrepancies`
    expect((await fetch(`${base}?family=noise`)).status).toBe(400)
    expect((await fetch(`${base}?limit=0`)).status).toBe(400)
    expect((await fetch(`${base}?slice=nope`)).status).toBe(404)
    const unknown = await fetch(`${base}/0123456789abcdef`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { code: string }).code).toBe('FICUS_ERR_ADMIN_NOT_FOUND')
    expect((await (await fetch(`${base}?family=translation-defect`)).json()) as { entries: unknown[] }).toMatchObject({ entries: [] })
  })
})
