import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderHtml } from '../../src/report/render-html.ts'
import { buildReport, ReportAggregator } from '../../src/report/report.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { launchChromium } from '../helpers/browser.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

let browser: Browser
let dir: string

beforeAll(async () => {
  browser = await launchChromium()
  dir = await mkdtemp(join(tmpdir(), 'ficus-html-'))
})
afterAll(async () => {
  await browser.close()
  await rm(dir, { recursive: true, force: true })
})

describe('HTML report', () => {
  it('is one self-contained page with its charts, and shows markup in names as text', async () => {
    const config = validateConfig({
      sides: { legacy: 'legacy', modern: 'modern' },
      upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
      slices: {
        'coverage-status': { description: '<script>window.hacked = true</script> In force?', authority: 'legacy', routes: [{ method: 'GET', path: '/c' }] },
        'billing-eligibility': { description: 'Billable?', authority: 'legacy', routes: [{ method: 'GET', path: '/b' }] },
      },
    })
    const aggregator = new ReportAggregator()
    const start = Date.parse('2026-11-20T00:00:00Z')
    for (let i = 0; i < 300; i++) {
      const conflict = i % 5 === 0
      aggregator.add(comparison({ slice: i % 2 === 0 ? 'coverage-status' : 'billing-eligibility', rulesHash: config.slices[0]!.compare.rulesHash, category: conflict ? 'body-mismatch' : 'match', diffPaths: conflict ? ['/body/<img src=x onerror=alert(1)>'] : [], eventTime: new Date(start + i * 60_000), legacyMs: 5 + (i % 20), modernMs: 8 + (i % 30) }))
    }
    const html = renderHtml(buildReport(aggregator, config.slices, { source: 'test', window: { from: null, to: null } }))
    expect(html).not.toMatch(/<script|src="http|href="http/)
    const file = join(dir, 'report.html')
    await writeFile(file, html)

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const requests: string[] = []
    page.on('request', (request) => requests.push(request.url()))
    await page.goto(pathToFileURL(file).href)
    expect(await page.title()).toBe('Ficus shadow-run report')
    expect(await page.locator('section').count()).toBe(2)
    for (const chart of ['agreement', 'latency', 'paths']) expect(await page.locator(`svg[data-chart="${chart}"]`).count(), chart).toBe(2)
    expect(await page.locator('svg[data-chart="agreement"] path.line').count()).toBe(2)
    expect(await page.locator('svg[data-chart="latency"] rect.modern').count()).toBeGreaterThanOrEqual(6)
    // Markup in a description or a path is shown, not run.
    expect(await page.evaluate('window.hacked')).toBeUndefined()
    expect(await page.locator('section').first().innerText()).toContain('<script>window.hacked = true</script> In force?')
    expect(await page.locator('svg[data-chart="paths"] text').first().textContent()).toContain('/body/<img')
    expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([])
    const screenshot = join(dir, 'report.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000)
    await page.close()
  })
})
