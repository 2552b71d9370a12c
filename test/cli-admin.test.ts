import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from './helpers/gateway.ts'
import { send } from './helpers/http-client.ts'
import { runFicus } from './helpers/processes.ts'
import { closedPort, startUpstream, type TestUpstream } from './helpers/upstream-server.ts'

const TOKEN = 'cli-test-token-0123456789abcdef'
let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  const config = sampleConfig(legacy.url, modern.url)
  config.slices['billing-eligibility'] = { description: 'May this policy be billed?', authority: 'modern', routes: [{ method: 'GET', path: '/billing/:id' }] }
  gateway = await startTestGateway(config, { env: { FICUS_ADMIN_TOKEN: TOKEN } })
  env = { FICUS_ADMIN_URL: gateway.adminUrl, FICUS_ADMIN_TOKEN: TOKEN, FICUS_ACTOR: 'ana@platform' }
})
afterAll(async () => {
  await gateway.stop()
  await legacy.close()
  await modern.close()
})

describe('ficus CLI against the admin API', () => {
  it('flips a slice, shows it in status, and the gateway obeys', async () => {
    const flipped = await runFicus(['flip', 'policy-status', '25%', '--reason', 'start the rollout'], env)
    expect(flipped.stderr).toBe('')
    expect(flipped.code).toBe(0)
    expect(flipped.stdout).toBe('policy-status: authority 25% (version 1), by ana@platform: start the rollout\n')
    expect((await runFicus(['flip', 'policy-status', 'modern', '--reason', 'all in', '--expect-version', '1'], env)).code).toBe(0)
    expect((await send(`${gateway.url}/policy/P-1/status`)).headers['x-upstream']).toBe('modern')

    const status = await runFicus(['status'], env)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/file store, connected/)
    expect(status.stdout).toMatch(/^SLICE\s+AUTHORITY\s+VERSION\s+CHANGED\s+BY\s+REASON$/m)
    expect(status.stdout).toMatch(/^policy-status\s+modern\s+2\s+\S+Z\s+ana@platform\s+all in$/m)
    expect(status.stdout).toMatch(/^billing-eligibility\s+modern\s+0\s+\(initial\)$/m)
  })

  it('kill switch returns every slice to legacy and history shows it all', async () => {
    const killed = await runFicus(['kill-switch', '--reason', 'incident 12'], env)
    expect(killed.code).toBe(0)
    expect(killed.stdout).toMatch(/^kill switch: returned to legacy: .*policy-status \(version 3\).*billing-eligibility \(version 1\)/)
    expect((await send(`${gateway.url}/billing/P-1`)).headers['x-upstream']).toBe('legacy')

    const history = await runFicus(['history'], env)
    expect(history.code).toBe(0)
    const rows = history.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^WHEN\s+SLICE\s+CHANGE\s+VERSION\s+KIND\s+BY\s+INSTANCE\s+REASON$/)
    expect(rows.slice(1).map((row) => row.split(/\s{2,}/).slice(1, 5))).toEqual([
      ['billing-eligibility', 'modern → legacy', '1', 'kill-switch'],
      ['policy-status', 'modern → legacy', '3', 'kill-switch'],
      ['policy-status', '25% → modern', '2', 'flip'],
      ['policy-status', 'legacy → 25%', '1', 'flip'],
    ])
    const one = await runFicus(['history', 'billing-eligibility', '--json'], env)
    expect(JSON.parse(one.stdout)).toMatchObject([{ slice: 'billing-eligibility', actor: 'ana@platform', reason: 'incident 12', instance: 'test-gw' }])
  })

  it('fails with one line and a non-zero exit', async () => {
    const wrongToken = await runFicus(['status'], { ...env, FICUS_ADMIN_TOKEN: 'nope' })
    expect(wrongToken.code).toBe(1)
    expect(wrongToken.stderr).toBe('ficus: FICUS_ERR_ADMIN_UNAUTHORIZED: missing or invalid bearer token\n')

    const badValue = await runFicus(['flip', 'policy-status', 'halfway', '--reason', 'r'], env)
    expect(badValue.code).toBe(1)
    expect(badValue.stderr).toMatch(/^ficus: FICUS_ERR_AUTHORITY_INVALID: authority: must be "legacy", "modern" or a percentage[^\n]*\n$/)

    const unknown = await runFicus(['flip', 'claims', 'modern', '--reason', 'r'], env)
    expect(unknown.stderr).toBe('ficus: FICUS_ERR_UNKNOWN_SLICE: unknown slice "claims"\n')

    const conflict = await runFicus(['flip', 'policy-status', 'modern', '--reason', 'r', '--expect-version', '0'], env)
    expect(conflict.code).toBe(1)
    expect(conflict.stderr).toMatch(/^ficus: FICUS_ERR_AUTHORITY_CONFLICT: slice "policy-status" is at version \d+, not 0/)

    const port = await closedPort()
    const unreachable = await runFicus(['status', '--admin-url', `http://127.0.0.1:${port}`], env)
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^ficus: FICUS_ERR_ADMIN_UNREACHABLE: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)[^\n]*\n$/)
  })

  it('requires a reason before calling anything (exit 2)', async () => {
    const noReason = await runFicus(['flip', 'policy-status', 'modern'], env)
    expect(noReason.code).toBe(2)
    expect(noReason.stderr).toContain('--reason "…" is required')
    expect((await runFicus(['kill-switch'], env)).code).toBe(2)
  })
})
