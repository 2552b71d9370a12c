import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { launchChromium } from '../helpers/browser.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { PERMISSIVE_READINESS, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

const TOKEN = 'dashboard-backlog-token-0123456789'
const HOSTILE_KEY = '<img src=x onerror="window.hacked=1">'
const HOSTILE_CODE = '<img src=x onerror="window.hacked=2">'
const DAY_MS = 86_400_000

// What each side says of each entity: legacy in its codes (ACTV), modern in its language. Every
// entity differs in its own way, so that each is a signature of its own.
const LEGACY: Record<string, object> = {
  'P-1': { status: 'ACTV', premium: 100 },
  'P-2': { status: 'ACTV', holder: 'Ann Lee' },
  'P-3': { status: 'ACTV' },
  'P-4': { status: 'ACTV', limit: 5 },
  'P-5': { status: HOSTILE_CODE },
  'C-1': { lodgeable: true },
}
const MODERN: Record<string, object> = {
  'P-1': { status: 'ACTIVE', premium: 101 },
  'P-2': { status: 'ACTIVE', holder: 'Ann LEE' },
  'P-3': { status: 'ACTIVE', [HOSTILE_KEY]: 'x' },
  'P-4': { status: 'ACTIVE', limit: 6 },
  'P-5': { status: 'ACTIVE' },
  'C-1': { lodgeable: false },
}
const answer =
  (bodies: Record<string, object>) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    const id = /[PC]-\d+/.exec(request.url ?? '')?.[0] ?? ''
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify(bodies[id] ?? {}))
  }

/** Two slices shadowed; `fixed` stands for a later translation release (other rules, other rules hash). */
function config(legacyUrl: string, modernUrl: string, fixed: boolean): GatewayConfigInput {
  return {
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: legacyUrl, timeoutMs: 2_000 }, modern: { url: modernUrl, timeoutMs: 2_000 } },
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        owner: { team: 'policy-team', contact: '#policy' },
        authority: 'legacy',
        shadow: {},
        entityKey: { param: 'id' },
        routes: [{ method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' } }],
        translate: { version: fixed ? 'policy-status/2' : 'policy-status/1', legacy: { values: { '/status': { ACTV: 'ACTIVE' } } } },
        compare: { clearKeys: ['/*'], clearUntranslated: ['/status'], ...(fixed ? { ignore: ['/asOf'] } : {}) },
      },
      'claim-lodgement': {
        description: 'May this claim be lodged?',
        authority: 'legacy',
        shadow: {},
        routes: [{ method: 'GET', path: '/claims/:id' }],
      },
    },
    readiness: PERMISSIVE_READINESS,
  }
}

let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let dataDir: string
let browser: Browser
let page: Page
const ids: Record<string, string> = {}

async function admin(path: string, body?: unknown): Promise<unknown> {
  const response = await send(`${gateway.adminUrl}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-ficus-actor': 'ana@ops' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  expect(response.status, response.body).toBe(200)
  return JSON.parse(response.body) as unknown
}

async function ask(requestId: string, path: string): Promise<void> {
  await send(`${gateway.url}${path}`, { headers: { 'x-request-id': requestId } })
  await comparisonOf(dataDir, requestId)
}

/** The register's file with the first sighting of one signature moved back (it has waited that long). */
async function backdate(id: string, firstSeen: string): Promise<void> {
  const file = join(dataDir, 'discrepancies.json')
  const stored = JSON.parse(await readFile(file, 'utf8')) as { entries: { id: string; firstSeen: string }[] }
  stored.entries.find((entry) => entry.id === id)!.firstSeen = firstSeen
  await writeFile(file, JSON.stringify(stored))
}

beforeAll(async () => {
  legacy = await startUpstream('legacy', answer(LEGACY))
  modern = await startUpstream('modern', answer(MODERN))
  dataDir = await mkdtemp(join(tmpdir(), 'ficus-backlog-'))
  const start = (fixed: boolean) => startTestGateway(config(legacy.url, modern.url, fixed), { dataDir, env: { FICUS_ADMIN_TOKEN: TOKEN } })
  gateway = await start(false)
  for (const id of ['P-1', 'P-2', 'P-3', 'P-4', 'P-5']) await ask(`bl-${id}`, `/policy/${id}/status`)
  await ask('bl-C-1', '/claims/C-1')
  const { entries } = (await admin('/discrepancies?limit=100')) as { entries: DiscrepancyEntry[] }
  for (const entry of entries) ids[entry.examples[0]!.slice(3)] = entry.id
  await admin(`/discrepancies/${ids['P-1']}/triage`, {
    action: 'accept',
    approver: 'cy@ops',
    expiresAt: '2099-12-31',
    reason: 'the new premium rounding is intended',
  })
  await admin(`/discrepancies/${ids['P-2']}/triage`, { action: 'expect-fix', reason: 'holder names: case fixed in the next translation' })
  await admin(`/discrepancies/${ids['P-4']}/triage`, { action: 'assign', assignee: 'bo@ops', reason: 'limits differ' })
  // The next release: other rules. P-3 has waited three days and more; P-2 recurs under the new rules.
  await gateway.stop({ keepData: true })
  await backdate(ids['P-3']!, new Date(Date.now() - 3 * DAY_MS - 4.5 * 3_600_000).toISOString())
  gateway = await start(true)
  await ask('bl-P-2-again', '/policy/P-2/status')

  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.setDefaultTimeout(10_000)
  await page.goto(gateway.adminUrl)
  await page.getByLabel('Token', { exact: true }).fill(TOKEN)
  await page.getByRole('button', { name: 'Open dashboard' }).click()
})
afterAll(async () => {
  await browser?.close()
  await gateway?.stop()
  await legacy?.close()
  await modern?.close()
  await rm(dataDir, { recursive: true, force: true })
})

const backlogRow = (slice: string, family: string) => page.locator(`#backlog-rows tr[data-backlog-slice="${slice}"][data-backlog-family="${family}"]`)
const counted = async (slice: string, family: string, key: string): Promise<string> =>
  (await backlogRow(slice, family).locator(`td[data-count="${key}"]`).textContent()) ?? ''

describe('the discrepancy backlog on the dashboard', () => {
  it('shows the backlog per slice and family, the age of the oldest open item, and a regression highlighted', async () => {
    await backlogRow('policy-status', 'genuine-conflict').waitFor()
    // P-1 accepted; P-2's promised fix recurred (open, a regression); P-3 untriaged; P-4 investigated.
    const counts: Record<string, string> = {}
    for (const key of ['signatures', 'open', 'investigating', 'accepted', 'expired', 'fixExpected', 'regressions', 'wontFix'])
      counts[key] = await counted('policy-status', 'genuine-conflict', key)
    expect(counts).toEqual({ signatures: '4', open: '3', investigating: '1', accepted: '1', expired: '0', fixExpected: '0', regressions: '1', wontFix: '0' })
    expect(await backlogRow('policy-status', 'genuine-conflict').locator('td.oldest').textContent()).toBe('3 d 4 h')
    expect(await backlogRow('policy-status', 'genuine-conflict').getAttribute('class')).toBe('regression')
    expect(await backlogRow('policy-status', 'genuine-conflict').locator('td[data-count="regressions"]').getAttribute('class')).toBe('num alert')
    // The slice's other family, and the other slice (no owner named).
    expect(await counted('policy-status', 'translation-defect', 'open')).toBe('1')
    expect(await counted('claim-lodgement', 'genuine-conflict', 'open')).toBe('1')
    expect(await backlogRow('claim-lodgement', 'genuine-conflict').locator('td.owner').textContent()).toBe('–')
    expect(await backlogRow('policy-status', 'genuine-conflict').locator('td.owner').textContent()).toBe('policy-team')
    expect(await backlogRow('claim-lodgement', 'genuine-conflict').locator('td.oldest').textContent()).toMatch(/^\d+ s$/)
  })

  it('lists the signatures of a slice with their state, and values from traffic as text', async () => {
    await page.getByRole('button', { name: 'Signatures of policy-status' }).click()
    const rows = page.locator('#signature-rows tr')
    await rows.first().waitFor()
    expect(await rows.count()).toBe(5)
    const regression = page.locator(`#signature-rows tr[data-signature="${ids['P-2']}"]`)
    expect(await regression.getAttribute('class')).toBe('regression')
    expect(await regression.locator('td.state').textContent()).toMatch(/^open — regression: recurred under new rules/)
    const accepted = page.locator(`#signature-rows tr[data-signature="${ids['P-1']}"]`)
    expect(await accepted.locator('td.state').textContent()).toBe('accepted until 2100-01-01 00:00 UTC')
    const investigated = page.locator(`#signature-rows tr[data-signature="${ids['P-4']}"] td`)
    // Family, route, paths, state, count, entities, first seen, last seen, owner / assignee.
    expect((await investigated.allTextContents()).filter((_cell, index) => index !== 6 && index !== 7)).toEqual([
      'genuine-conflict',
      'GET /policy/:id/status',
      '/body/limit',
      'investigating',
      '1',
      '1',
      'policy-team / bo@ops',
    ])
    // A key and an untranslated code that carry markup are shown as they are, never run.
    expect(await page.locator(`#signature-rows tr[data-signature="${ids['P-3']}"] td.paths`).textContent()).toBe(`/body/${HOSTILE_KEY}`)
    expect(await page.locator(`#signature-rows tr[data-signature="${ids['P-5']}"] td.paths`).textContent()).toBe(
      `/body/status = ${JSON.stringify(HOSTILE_CODE)}`,
    )
    expect(await page.locator('#backlog img').count()).toBe(0)
    expect(await page.evaluate('window.hacked')).toBeUndefined()
  })

  it('shows the triage history of a signature', async () => {
    await page.getByRole('button', { name: `Triage history of ${ids['P-1']}` }).click()
    await page.locator('#signature-history td', { hasText: 'the new premium rounding is intended' }).waitFor()
    const cells = await page.locator('#signature-history tbody tr').first().locator('td').allTextContents()
    expect(cells.slice(1)).toEqual(['accept', 'ana@ops', 'the new premium rounding is intended', 'approved by cy@ops, until 2100-01-01 00:00 UTC'])
  })

  it('says when the register cannot be read, and the slices keep working', async () => {
    await page.route('**/admin/discrepancies/backlog', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ code: 'FICUS_ERR_REGISTER_UNAVAILABLE', message: 'the discrepancy register cannot be read now (Redis is unreachable)' }),
      }),
    )
    await page.locator('#backlog-error', { hasText: 'The discrepancy backlog is unavailable: the discrepancy register cannot be read now' }).waitFor()
    expect(await page.locator('#backlog-rows tr').count()).toBe(0)
    expect(await page.locator('tr.slice').count()).toBe(2)
    expect(await page.locator('#notice').textContent()).toBe('')
    await page.unroute('**/admin/discrepancies/backlog')
    await backlogRow('policy-status', 'genuine-conflict').waitFor()
    expect(await page.locator('#backlog-error').isHidden()).toBe(true)
  })
})
