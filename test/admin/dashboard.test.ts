import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { tsImport } from 'tsx/esm/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startExampleServices, type RunningExamples } from '../../examples/example-services.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { launchChromium } from '../helpers/browser.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { ROOT } from '../helpers/processes.ts'

const TOKEN = 'dashboard-test-token-0123456789'
let examples: RunningExamples
let gateway: TestGateway
let browser: Browser
let page: Page
let shots: string

beforeAll(async () => {
  examples = await startExampleServices({ ephemeral: true })
  Object.assign(process.env, examples.env)
  // The example migration, plus a slice on modern (no traffic, so no conflict) whose description tries to inject a script.
  const module = (await tsImport(join(ROOT, 'routes.config.ts'), import.meta.url)) as { default: GatewayConfigInput }
  const input = module.default
  const config = validateConfig({
    ...input,
    slices: {
      ...input.slices,
      'agent-directory': {
        description: '<script>window.hacked = true</script> Who is the agent?',
        authority: 'modern',
        routes: [{ method: 'GET', path: '/pas/v1/agents/:agentId' }],
      },
    },
  })
  gateway = await startTestGateway(config, { env: { FICUS_ADMIN_TOKEN: TOKEN } })
  // Legacy stamps each coverage answer anew (asOf): asked twice per request, it teaches the gateway that path is noise.
  // Billing is on modern, and P-1006's arrears make the sides disagree: a genuine conflict.
  for (const path of [
    '/pas/v1/policy/P-1001/status',
    '/pas/v1/policy/P-1004/status',
    '/pas/v1/policy/P-1005/status',
    '/pas/v1/policy/P-1002/status',
    '/pas/v1/policy/P-1003/status',
    '/pas/v1/billing/P-1006/eligibility',
    '/pas/v1/billing/P-1001/eligibility',
  ]) {
    await send(`${gateway.url}${path}`, { headers: { 'x-request-id': `dash-${path}` } })
  }
  await comparisonOf(gateway.dataDir, 'dash-/pas/v1/policy/P-1003/status')
  await comparisonOf(gateway.dataDir, 'dash-/pas/v1/billing/P-1001/eligibility')
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.setDefaultTimeout(10_000)
  shots = await mkdtemp(join(tmpdir(), 'ficus-dashboard-'))
})
afterAll(async () => {
  await browser.close()
  await gateway.stop()
  await examples.close()
  await rm(shots, { recursive: true, force: true })
})

/** An admin API answer, with the token. */
async function adminGet<T>(path: string): Promise<T> {
  const response = await send(`${gateway.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(response.status).toBe(200)
  return JSON.parse(response.body) as T
}

interface OverviewSlice {
  id: string
  authority: string
  report: { matchRate: { value: number; lower: number; upper: number } | null; families: Record<string, number>; lag: { count: number } }
}

async function flipInUi(slice: string, target: 'legacy' | 'modern', reason: string): Promise<void> {
  await page.getByRole('button', { name: slice, exact: true }).click()
  await page.locator(`input[name="target"][value="${target}"]`).check()
  await page.getByLabel('Reason (required, kept in the audit trail)').fill(reason)
  await page.getByRole('button', { name: 'Review flip…' }).click()
  await page.getByRole('button', { name: 'Confirm flip' }).click()
}

describe('dashboard', () => {
  it('is served with a strict Content Security Policy, and the API refuses requests without the token', async () => {
    const index = await send(`${gateway.adminUrl}/`)
    expect(index.status).toBe(200)
    expect(index.headers['content-security-policy']).toContain("script-src 'self'")
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect((await send(`${gateway.adminUrl}/admin/overview`)).status).toBe(401)
  })

  it('asks for the token, then shows every slice, markup in a description as text', async () => {
    await page.goto(gateway.adminUrl)
    await page.getByLabel('Token', { exact: true }).fill(TOKEN)
    await page.getByRole('button', { name: 'Open dashboard' }).click()
    await page.locator('tr.slice').first().waitFor()
    expect(await page.locator('tr.slice').count()).toBe(5)
    expect(await page.locator('tr[data-slice="coverage-status"] .authority').textContent()).toBe('legacy')
    expect(await page.locator('tr[data-slice="coverage-status"] summary').textContent()).toBe('✘ Not ready')
    expect(await page.locator('tr[data-slice="agent-directory"] th').innerText()).toContain('<script>window.hacked = true</script> Who is the agent?')
    expect(await page.evaluate('window.hacked')).toBeUndefined()
    // Each slice names the team that owns its decision (routes.config.ts), and one without an owner shows none.
    expect(await page.locator('tr[data-slice="coverage-status"] .owner').textContent()).toBe('owner: policy-platform')
    expect(await page.locator('tr[data-slice="agent-directory"] .owner').count()).toBe(0)
    // The token is in session storage, not in a cookie or the URL.
    expect(await page.evaluate('document.cookie')).toBe('')
    expect(page.url()).not.toContain(TOKEN)
    await page.screenshot({ path: join(shots, 'slices.png') })
    expect((await stat(join(shots, 'slices.png'))).size).toBeGreaterThan(20_000)
    if (process.env.FICUS_UPDATE_SCREENSHOT === '1') await copyFile(join(shots, 'slices.png'), join(ROOT, 'docs', 'dashboard.png'))
  })

  it('shows agreement with its interval and the families that matter, and warns about a slice on modern with genuine conflicts', async () => {
    const { slices } = await adminGet<{ slices: OverviewSlice[] }>('/admin/overview')
    const billing = slices.find((slice) => slice.id === 'billing-eligibility')!
    expect(billing.authority).toBe('modern')
    const conflicts = billing.report.families['genuine-conflict']!
    expect(conflicts).toBeGreaterThan(0)
    const rate = billing.report.matchRate!
    const interval = `${(rate.value * 100).toFixed(1)} % (${(rate.lower * 100).toFixed(1)}–${(rate.upper * 100).toFixed(1)})`
    const row = page.locator('tr[data-slice="billing-eligibility"]')
    await page.locator('tr[data-slice="billing-eligibility"] td.agreement', { hasText: interval }).waitFor()
    const cells = await row.locator('td').allInnerTexts()
    // Authority, version, readiness, agreement, samples, then conflicts, translation defects, source-data defects, not compared, lag p95.
    expect(cells.slice(5, 9)).toEqual([
      String(conflicts),
      String(billing.report.families['translation-defect']),
      String(billing.report.families['source-data-defect']),
      String(billing.report.families['not-compared']),
    ])
    expect(cells[9]).toBe(billing.report.lag.count === 0 ? '–' : expect.stringMatching(/ ms$/))

    const warning = page.locator('tr.conflict-warning[data-warning-for="billing-eligibility"]')
    expect(await warning.innerText()).toContain(`billing-eligibility sends all of its traffic to modern, and modern gave ${conflicts} genuine conflict(s)`)
    // On modern without conflicts, or on legacy: no warning.
    expect(slices.find((slice) => slice.id === 'agent-directory')).toMatchObject({ authority: 'modern', report: { families: { 'genuine-conflict': 0 } } })
    expect(await page.locator('tr.conflict-warning').count()).toBe(1)
    await page.getByRole('button', { name: 'billing-eligibility', exact: true }).click()
    expect(await page.locator('#detail-warning').isVisible()).toBe(true)
    await page.getByRole('button', { name: 'agent-directory', exact: true }).click()
    await page.locator('#detail-title', { hasText: 'agent-directory' }).waitFor()
    expect(await page.locator('#detail-warning').isHidden()).toBe(true)
  })

  it('shows the learned noise of a slice, and an operator rejects a path with a reason', async () => {
    await page.getByRole('button', { name: 'coverage-status', exact: true }).click()
    await page.locator('#detail-evidence', { hasText: 'over the last 7 days' }).waitFor()
    // Its families hour by hour (the demo-like traffic of this run is in the current hour).
    const hour = page.locator('#detail-hourly tbody tr').first()
    await hour.waitFor()
    expect(await hour.locator('td').first().innerText()).toBe(`${new Date().toISOString().slice(0, 13).replace('T', ' ')}h`)
    const row = page.locator('#detail-noise tr[data-path="/body/asOf"]')
    await row.waitFor()
    expect(await row.locator('td').nth(2).innerText()).toBe('learned')
    await row.getByRole('button', { name: 'Reject /body/asOf on GET /pas/v1/policy/:policyNumber/status' }).click()
    await page.getByLabel('Why (required, kept in the noise audit)').fill('asOf must agree: the Policy context stamps the same time')
    await page.getByRole('button', { name: 'Record decision' }).click()
    await page.locator('#noise-result', { hasText: 'Reject: /body/asOf on GET /pas/v1/policy/:policyNumber/status, recorded by admin-api.' }).waitFor()
    await row.locator('td', { hasText: 'rejected' }).first().waitFor()

    const audit = await adminGet<{ entries: { decision: string; path: string; route: string; reason: string }[] }>(
      '/admin/noise-decisions?slice=coverage-status',
    )
    expect(audit.entries[0]).toMatchObject({
      decision: 'reject',
      path: '/body/asOf',
      route: 'GET /pas/v1/policy/:policyNumber/status',
      reason: 'asOf must agree: the Policy context stamps the same time',
    })
    const listing = await adminGet<{ paths: { path: string; state: string }[] }>('/admin/slices/coverage-status/noise')
    expect(listing.paths).toContainEqual(expect.objectContaining({ path: '/body/asOf', state: 'rejected' }))
    await page.getByRole('button', { name: 'Back to all slices' }).click()
  })

  it('flips a slice with a reason: the table, the history and the gateway follow', async () => {
    await flipInUi('billing-eligibility', 'legacy', 'billing context incident')
    await page.getByText('billing-eligibility is now legacy (version 1).').waitFor()
    await page.locator('#detail-history td', { hasText: 'billing context incident' }).waitFor()
    expect(await page.locator('tr[data-slice="billing-eligibility"] .authority').textContent()).toBe('legacy')
    const routed = await send(`${gateway.url}/pas/v1/billing/P-1001/eligibility`)
    expect(routed.headers['x-ficus-authority']).toBe('legacy')
  })

  it('shows the guard’s refusal with the unmet criteria, and forces past it', async () => {
    await page.getByRole('button', { name: 'Back to all slices' }).click()
    await flipInUi('coverage-status', 'modern', 'try the new policy context')
    await page.getByText('Refused by the readiness guard').waitFor()
    expect(await page.locator('#flip-result li').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^samples: \d+ compared samples \(at least 500\)$/)]),
    )
    await page.getByLabel('Force past the readiness verdict (recorded as forced)').check()
    await page.getByRole('button', { name: 'Review flip…' }).click()
    await page.getByRole('button', { name: 'Confirm flip' }).click()
    await page.getByText('coverage-status is now modern (version 1).').waitFor()
    await page.locator('#detail-history td', { hasText: '(forced)' }).waitFor()
    expect(gateway.store.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1 })
  })

  it('returns every slice to legacy with the kill switch, after a confirmation', async () => {
    await page.getByRole('button', { name: 'Kill switch…' }).click()
    await page.getByLabel('Reason (required)').fill('incident 77')
    await page.getByRole('button', { name: 'Return every slice to legacy' }).click()
    await page.getByText(/Kill switch: 2 slice\(s\) returned to legacy/).waitFor()
    expect(gateway.store.get('coverage-status')).toMatchObject({ authority: 'legacy', version: 2 })
  })

  it('a browser without the token sees the sign-in form, not the slices', async () => {
    const other = await browser.newPage()
    await other.goto(gateway.adminUrl)
    await other.getByLabel('Token', { exact: true }).waitFor()
    expect(await other.locator('#slices').isHidden()).toBe(true)
    await other.close()
  })
})
