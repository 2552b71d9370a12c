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
  // The example migration, plus a slice whose description tries to inject a script.
  const module = (await tsImport(join(ROOT, 'routes.config.ts'), import.meta.url)) as { default: GatewayConfigInput }
  const input = module.default
  const config = validateConfig({
    ...input,
    slices: { ...input.slices, 'agent-directory': { description: '<script>window.hacked = true</script> Who is the agent?', authority: 'legacy', routes: [{ method: 'GET', path: '/pas/v1/agents/:agentId' }] } },
  })
  gateway = await startTestGateway(config, { env: { FICUS_ADMIN_TOKEN: TOKEN } })
  for (const path of ['/pas/v1/policy/P-1001/status', '/pas/v1/policy/P-1004/status', '/pas/v1/policy/P-1005/status', '/pas/v1/billing/P-1006/eligibility', '/pas/v1/billing/P-1001/eligibility']) {
    await send(`${gateway.url}${path}`, { headers: { 'x-request-id': `dash-${path}` } })
  }
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
    expect(await page.locator('tr.slice').count()).toBe(4)
    expect(await page.locator('tr[data-slice="coverage-status"] .authority').textContent()).toBe('legacy')
    expect(await page.locator('tr[data-slice="coverage-status"] summary').textContent()).toBe('✘ Not ready')
    expect(await page.locator('tr[data-slice="agent-directory"] th').innerText()).toContain('<script>window.hacked = true</script> Who is the agent?')
    expect(await page.evaluate('window.hacked')).toBeUndefined()
    // The token is in session storage, not in a cookie or the URL.
    expect(await page.evaluate('document.cookie')).toBe('')
    expect(page.url()).not.toContain(TOKEN)
    await page.screenshot({ path: join(shots, 'slices.png') })
    expect((await stat(join(shots, 'slices.png'))).size).toBeGreaterThan(20_000)
    if (process.env.FICUS_UPDATE_SCREENSHOT === '1') await copyFile(join(shots, 'slices.png'), join(ROOT, 'docs', 'dashboard.png'))
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
    expect(await page.locator('#flip-result li').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^samples: \d+ compared samples \(at least 500\)$/)]))
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
    await page.getByText(/Kill switch: 1 slice\(s\) returned to legacy/).waitFor()
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
