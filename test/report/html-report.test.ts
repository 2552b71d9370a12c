import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAMILIES } from '../../src/compare/classify.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { renderHtml } from '../../src/report/render-html.ts'
import { buildReport, ComparisonAggregator, type Report } from '../../src/report/report.ts'
import { launchChromium } from '../helpers/browser.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

const config = validateConfig({
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
  slices: {
    'coverage-status': { description: '<script>window.hacked = true</script> In force?', authority: 'legacy', routes: [{ method: 'GET', path: '/c' }] },
    'billing-eligibility': { description: 'Billable?', authority: 'legacy', routes: [{ method: 'GET', path: '/b' }] },
    'claim-lodgement': { description: 'No traffic yet', authority: 'legacy', routes: [{ method: 'GET', path: '/l' }] },
  },
})
const COVERAGE_RULES = config.slices[0]!.compare.rulesHash
const BILLING_RULES = config.slices[1]!.compare.rulesHash
/** The rules coverage-status was compared under before its current ones. */
const EARLIER_RULES = `sha256:${'ab12'.repeat(16)}`
/** A slice seen in the records only, whose name tries to inject markup. */
const ROGUE = '<img src=x onerror="window.hacked=true">'
const NOW = Date.parse('2026-11-20T12:00:00Z')
/** A short run: one record a minute for an hour and a half, then the report. */
const START = NOW - 90 * 60_000

/** Coverage: mostly matches, with one record of each disagreeing family now and then. */
function coverageRecord(minute: number): Comparison {
  const base = {
    slice: 'coverage-status',
    rulesHash: minute < 30 ? EARLIER_RULES : COVERAGE_RULES,
    eventTime: new Date(START + minute * 60_000),
    legacyMs: 20 + (minute % 7),
    modernMs: 30 + (minute % 11),
  }
  if (minute % 9 === 0)
    return comparison({ ...base, category: 'body-mismatch', diffPaths: ['/body/<img src=x onerror=alert(1)>'], requestId: `req-conflict-${minute}` })
  if (minute % 13 === 0)
    return comparison({ ...base, category: 'untranslated', untranslated: [{ path: '/body/status', value: 'PNDC' }], requestId: `req-untranslated-${minute}` })
  if (minute % 17 === 0)
    return comparison({
      ...base,
      category: 'rule-violation',
      violations: [{ path: '/body/premium/amount', rule: 'range' }],
      requestId: `req-violation-${minute}`,
    })
  if (minute % 11 === 0) return comparison({ ...base, category: 'timing-lag', lagMs: 150 + minute * 10 })
  if (minute % 7 === 0) return comparison({ ...base, category: 'noise', noisePaths: ['/body/asOf'] })
  return comparison({ ...base, category: 'match' })
}

function buildSample(): Report {
  const aggregator = new ComparisonAggregator()
  for (let minute = 0; minute < 90; minute++) {
    aggregator.add(coverageRecord(minute))
    aggregator.add(
      comparison({ slice: 'billing-eligibility', rulesHash: BILLING_RULES, eventTime: new Date(START + minute * 60_000 + 30_000), legacyMs: 12, modernMs: 9 }),
    )
  }
  aggregator.add(comparison({ slice: ROGUE, eventTime: new Date(START) }))
  return buildReport(aggregator, config.slices, { source: 'test', window: { from: null, to: null }, now: NOW })
}

let browser: Browser
let dir: string
let report: Report
let page: Page
const requests: string[] = []

async function open(html: string, name: string): Promise<Page> {
  const file = join(dir, name)
  await writeFile(file, html)
  const opened = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  opened.on('request', (request) => requests.push(request.url()))
  opened.setDefaultTimeout(5_000)
  await opened.goto(pathToFileURL(file).href)
  return opened
}

beforeAll(async () => {
  browser = await launchChromium()
  dir = await mkdtemp(join(tmpdir(), 'ficus-html-'))
  report = buildSample()
  const changes = {
    'coverage-status': [
      { at: '2026-11-20T11:00:00.000Z', previous: 'legacy', authority: '10%', actor: 'ana@ops', reason: 'first customers on the Policy context' },
    ],
  }
  page = await open(renderHtml(report, { 'coverage-status': '10%', 'billing-eligibility': 'modern' }, changes), 'report.html')
})
afterAll(async () => {
  await browser.close()
  await rm(dir, { recursive: true, force: true })
})

const section = (slice: string) => page.locator('section.slice').filter({ has: page.locator('h2', { hasText: slice }) })
const sliceOf = (id: string) => report.slices.find((slice) => slice.slice === id)!

describe('HTML report', () => {
  it('opens with a summary of every slice: authority, verdict, agreement with its interval and each family', async () => {
    expect(await page.title()).toBe('Ficus shadow-run report')
    const rows = page.locator('table.summary tbody tr')
    expect(await rows.count()).toBe(report.slices.length)
    for (const [index, slice] of report.slices.entries()) {
      const row = rows.nth(index)
      expect(await row.locator('th').innerText()).toContain(slice.slice)
      expect(await row.locator('.verdict').innerText()).toBe(slice.readiness.ready ? 'READY' : 'NOT READY')
      expect(await row.locator('td[data-column="samples"]').innerText()).toBe(String(slice.samples))
      for (const family of FAMILIES)
        expect(await row.locator(`td[data-family="${family}"]`).innerText(), `${slice.slice} ${family}`).toBe(String(slice.families[family]))
    }
    const coverage = sliceOf('coverage-status')
    expect(coverage.families['genuine-conflict']).toBeGreaterThan(0)
    const agreement = await rows.nth(0).locator('td[data-column="agreement"]').innerText()
    expect(agreement).toContain(`${(coverage.matchRate!.value * 100).toFixed(1)} %`)
    expect(agreement).toContain(`${(coverage.matchRate!.lower * 100).toFixed(1)}–${(coverage.matchRate!.upper * 100).toFixed(1)}`)
    // Authority as given, "–" when the caller did not say.
    expect(await rows.nth(0).locator('td[data-column="authority"]').innerText()).toContain('10 %')
    expect(await rows.nth(1).locator('td[data-column="authority"]').innerText()).toContain('modern')
    expect(await rows.nth(2).locator('td[data-column="authority"]').innerText()).toBe('–')
    expect(await rows.nth(2).locator('td[data-column="agreement"]').innerText()).toBe('–')
    // Customers already get modern's answers while modern still disagrees: said on the first page.
    expect(await rows.nth(0).locator('.warning').innerText()).toContain(`${coverage.families['genuine-conflict']} genuine conflict(s)`)
    expect(await rows.nth(1).locator('.warning').count()).toBe(0)
  })

  it('lists the families hour by hour, newest first', async () => {
    const coverage = sliceOf('coverage-status')
    const rows = section('coverage-status').locator('table.hourly tbody tr')
    expect(await rows.count()).toBe(Math.min(48, coverage.hourly.length))
    const newest = coverage.hourly.at(-1)!
    expect(await rows.first().locator('td').nth(2).innerText()).toBe(String(newest.families['genuine-conflict']))
  })

  it('states the evidence once, then each criterion with its figure and threshold', async () => {
    const coverage = sliceOf('coverage-status')
    const evidence = await section('coverage-status').locator('.evidence').innerText()
    expect(evidence).toContain(coverage.readiness.evidence.rulesHash.replace('sha256:', '').slice(0, 12))
    expect(evidence).toContain(`last ${coverage.readiness.evidence.windowDays} days`)
    const criteria = section('coverage-status').locator('table.criteria tbody tr')
    expect(await criteria.count()).toBe(coverage.readiness.criteria.length)
    expect(await criteria.first().innerText()).toMatch(new RegExp(`Compared samples\\s+${coverage.samples}\\s+≥ 500`))
  })

  it('draws agreement over a short run as a line, on a time axis, with the bucket width', async () => {
    for (const id of ['coverage-status', 'billing-eligibility']) {
      const chart = section(id).locator('svg[data-chart="agreement"]')
      const line = await chart.locator('path.line').getAttribute('d')
      expect(line?.match(/L/g)?.length ?? 0, id).toBeGreaterThan(10)
      const labels = await chart.locator('text.time').allTextContents()
      expect(labels.length).toBeGreaterThanOrEqual(3)
      for (const label of labels) expect(label).toMatch(/^\d\d:\d\d$/)
    }
    expect(await section('coverage-status').locator('figure.agreement figcaption').innerText()).toContain('1 min')
    expect(await section('claim-lodgement').innerText()).toContain('No comparisons of this slice')
  })

  it('writes latency values, top paths with example request ids, untranslated values and legacy data breaking the model as text', async () => {
    const coverage = sliceOf('coverage-status')
    const latency = await section('coverage-status').locator('svg[data-chart="latency"] text').allTextContents()
    for (const side of ['legacy', 'modern'] as const)
      for (const q of ['p50', 'p95', 'p99'] as const) expect(latency).toContain(`${coverage.latency[side][q]!.toFixed(1)} ms`)
    const paths = section('coverage-status').locator('table.paths')
    const conflict = coverage.topPaths.find((path) => path.family === 'genuine-conflict')!
    const row = paths.locator('tbody tr', { hasText: conflict.exampleRequestId })
    await expect(row.isVisible()).resolves.toBe(true)
    expect(await row.innerText()).toContain('/body/<img src=x onerror=alert(1)>')
    expect(await row.innerText()).toContain('genuine conflict')
    expect(await section('coverage-status').locator('table.untranslated').innerText()).toContain('PNDC')
    expect(await section('coverage-status').locator('table.violations').innerText()).toMatch(/\/body\/premium\/amount\s+range/)
    expect(await section('coverage-status').locator('table.noise').innerText()).toContain('/body/asOf')
    expect(await section('coverage-status').locator('table.families').innerText()).toMatch(/genuine conflict\s+\d+/)
    expect(await section('coverage-status').locator('svg[data-chart="lag"] text').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^≤ \d/)]),
    )
  })

  it('shows the rules versions side by side and the recent authority changes', async () => {
    const versions = section('coverage-status').locator('table.rules-versions tbody tr')
    expect(await versions.count()).toBe(2)
    const text = await section('coverage-status').locator('table.rules-versions').innerText()
    expect(text).toContain(COVERAGE_RULES.replace('sha256:', '').slice(0, 12))
    expect(text).toContain(EARLIER_RULES.replace('sha256:', '').slice(0, 12))
    expect(await section('billing-eligibility').locator('table.rules-versions tbody tr').count()).toBe(1)
    expect(await section('coverage-status').locator('table.changes').innerText()).toContain('first customers on the Policy context')
    expect(await section('billing-eligibility').locator('table.changes').count()).toBe(0)
  })

  it('shows markup in names as text, runs nothing and fetches nothing', async () => {
    expect(await page.evaluate('window.hacked')).toBeUndefined()
    expect(await section('coverage-status').innerText()).toContain('<script>window.hacked = true</script> In force?')
    expect(await page.locator('table.summary').innerText()).toContain(ROGUE)
    // Without authorities or changes it renders too.
    const plain = renderHtml(report)
    expect(plain).not.toMatch(/<script|src="http|href="http|<img/)
    const other = await open(plain, 'plain.html')
    expect(await other.locator('section.slice').count()).toBe(report.slices.length)
    await other.close()
    expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([])
  })

  it('prints on A4 landscape: each slice on its own page, figures never cut', async () => {
    await page.emulateMedia({ media: 'print' })
    // The page's own computed styles under print media (a string: the test is not compiled with the DOM types).
    const styles = await page.evaluate<{ sections: string[]; figures: string[] }>(`({
      sections: [...document.querySelectorAll('section.slice')].map((node) => getComputedStyle(node).breakBefore),
      figures: [...document.querySelectorAll('figure, table')].map((node) => getComputedStyle(node).breakInside),
    })`)
    expect(styles.sections).toHaveLength(report.slices.length)
    expect(styles.sections.every((value) => value === 'page')).toBe(true)
    expect(styles.figures.every((value) => value === 'avoid')).toBe(true)
    const pdf = await page.pdf({ format: 'A4', landscape: true, printBackground: true })
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0
    expect(pages).toBeGreaterThanOrEqual(report.slices.length + 1)
    await page.emulateMedia({ media: 'screen' })
  })
})
