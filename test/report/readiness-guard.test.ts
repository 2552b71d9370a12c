import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { comparisonOf, readComparisons } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { runFicus } from '../helpers/processes.ts'
import { startUpstream, upstreamPair, type TestUpstream } from '../helpers/upstream-server.ts'

const upstreams = upstreamPair()
let gateway: TestGateway | undefined
let conflicting: TestUpstream | undefined

afterEach(async () => {
  await gateway?.stop()
  await conflicting?.close()
  gateway = undefined
  conflicting = undefined
})

// Ready after 20 agreeing samples; latency and soak left out so the test does not wait for them.
const READINESS = { minSamples: 20, minMatchRate: 80, maxConflictRate: 0, maxShadowErrorRate: 5, latency: false, minSoakHours: 0 } as const

function flip(gw: TestGateway, authority: string, extra: Record<string, unknown> = {}) {
  return send(`${gw.adminUrl}/admin/slices/policy-status/authority`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ana' },
    body: JSON.stringify({ authority, reason: 'move on', ...extra }),
  })
}

describe('the readiness guard', () => {
  it('refuses more modern traffic for an unready slice with the verdict, then allows it once the evidence is in', async () => {
    // Both sides give the same answer: the evidence will be all matches.
    conflicting = await startUpstream('agreeing-modern', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"status":"ACTIVE"}')
    })
    const agreeingLegacy = await startUpstream('agreeing-legacy', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"status":"ACTIVE"}')
    })
    const config = sampleConfig(agreeingLegacy.url, conflicting.url, { readiness: READINESS })
    config.slices['policy-status']!.shadow = {}
    gateway = await startTestGateway(config)
    const gw = gateway
    onTestFinished(() => agreeingLegacy.close())

    const refused = await flip(gw, '10%')
    expect(refused.status).toBe(409)
    const body = JSON.parse(refused.body) as {
      code: string
      message: string
      verdict: { ready: boolean; criteria: { id: string; met: boolean; detail: string }[] }
    }
    expect(body.code).toBe('FICUS_ERR_NOT_READY')
    expect(body.message).toContain('samples (0 compared samples (at least 20))')
    expect(body.verdict.criteria.find((criterion) => criterion.id === 'samples')).toMatchObject({ met: false })
    expect(gw.store.get('policy-status')?.version).toBe(0)

    for (let i = 0; i < 25; i++) await send(`${gw.url}/policy/P-${i}/status`, { headers: { 'x-request-id': `ev-${i}` } })
    await comparisonOf(gw.dataDir, 'ev-24')
    const report = JSON.parse((await send(`${gw.adminUrl}/admin/slices/policy-status/report`)).body) as {
      samples: number
      evidence: string
      readiness: { ready: boolean }
    }
    expect(report).toMatchObject({ samples: 25, evidence: 'local', readiness: { ready: true } })

    const allowed = await flip(gw, '10%')
    expect(allowed.status).toBe(200)
    // Moving back never needs readiness.
    expect((await flip(gw, 'legacy')).status).toBe(200)
  })

  it('lets a forced flip through, and the audit trail and the event say it was forced', async () => {
    conflicting = await startUpstream('modern', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"different":true}')
    })
    const config = sampleConfig(upstreams.legacy.url, conflicting.url, { readiness: READINESS })
    config.slices['policy-status']!.shadow = {}
    gateway = await startTestGateway(config, { env: { FICUS_ADMIN_TOKEN: 'guard-test-token-0123456789' } })
    const gw = gateway
    for (let i = 0; i < 25; i++) await send(`${gw.url}/policy/P-${i}/status`, { headers: { 'x-request-id': `c-${i}` } })
    await comparisonOf(gw.dataDir, 'c-24')

    const env = { FICUS_ADMIN_URL: gw.adminUrl, FICUS_ADMIN_TOKEN: 'guard-test-token-0123456789', FICUS_ACTOR: 'ana@platform' }
    const refused = await runFicus(['flip', 'policy-status', 'modern', '--reason', 'go'], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^ficus: FICUS_ERR_NOT_READY: slice "policy-status" is not ready for more modern traffic: match-rate \(.*\); conflicts \(25 genuine conflict/,
    )
    const forced = await runFicus(['flip', 'policy-status', 'modern', '--reason', 'vendor deadline, accepted risk', '--force'], env)
    expect(forced.stderr).toBe('')
    expect(forced.code).toBe(0)
    const history = await runFicus(['history', 'policy-status'], env)
    expect(history.stdout).toMatch(/legacy → modern\s+1\s+flip \(forced\)\s+ana@platform/)
    await gw.stop({ keepData: true })
    const events = (await readComparisons(gw.dataDir)).records
    expect(events.length).toBe(25)
    const { readFile } = await import('node:fs/promises')
    const changes = (await readFile(`${gw.dataDir}/authority-changes/authority-changes.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(changes).toMatchObject([
      { slice: 'policy-status', before: 'legacy', after: 'modern', forced: true, actor: 'ana@platform', reason: 'vendor deadline, accepted risk' },
    ])
    gateway = undefined
  })
})
