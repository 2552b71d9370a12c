import { describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import { gatewayWithUpstreams, sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { until } from '../helpers/wait.ts'

// After the flip, legacy is the shadow: when the two sides stop agreeing, the migration has regressed.
let legacyStatus = 'in force'
const answer =
  (status: () => string) =>
  (_request: unknown, response: { writeHead: (code: number, headers: Record<string, string>) => void; end: (body: string) => void }) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: status() }))
  }

describe('the drift alarm', () => {
  const ctx = gatewayWithUpstreams({
    config: (legacy, modern) => {
      const config = sampleConfig(legacy, modern)
      config.slices['policy-status'] = { ...config.slices['policy-status']!, shadow: {}, drift: { minAgreement: 90, minSamples: 5 } }
      return config
    },
    legacy: answer(() => legacyStatus),
    modern: answer(() => 'in force'),
    gateway: { env: { FICUS_DRIFT_CHECK_INTERVAL_MS: '100' } },
  })
  const metric = async (): Promise<string> => (await send(`${ctx.gateway.adminUrl}/metrics`)).body

  it('stays silent on a slice still on legacy, whatever its agreement', async () => {
    legacyStatus = 'lapsed'
    for (let i = 0; i < 6; i++) await send(`${ctx.gateway.url}/policy/P-${i}/status`)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await metric()).not.toContain('ficus_drift_alert{slice="policy-status"}')
    expect(ctx.gateway.logs.filter((line) => String(line.msg).startsWith('drift:'))).toEqual([])
  })

  it('watches a slice once it moved, judging only the hours after its flip (the disagreements above are from before it)', async () => {
    await flip(ctx.gateway.store, 'policy-status', { authority: 'modern', actor: 'test', reason: 'flip' })
    for (let i = 0; i < 6; i++) await send(`${ctx.gateway.url}/policy/P-${i}/status`)
    // Armed (the metric is there) but not firing: no whole hour after the flip yet, so nothing judged.
    await until(async () => (await metric()).includes('ficus_drift_alert{slice="policy-status"} 0'), 'the drift alarm armed', { timeoutMs: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await metric()).not.toContain('ficus_drift_agreement_ratio{slice="policy-status"}')
    expect(ctx.gateway.logs.filter((line) => String(line.msg).startsWith('drift:'))).toEqual([])
  })

  it('ends when the slice goes back to legacy', async () => {
    await flip(ctx.gateway.store, 'policy-status', { authority: 'legacy', actor: 'test', reason: 'back' })
    await until(async () => !(await metric()).includes('ficus_drift_alert{slice="policy-status"}'), 'the alarm gone', { timeoutMs: 10_000 })
  })
})
