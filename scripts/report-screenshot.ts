// Retakes docs/report.png: the example migration (examples/example-services.ts and the repository's
// routes.config.ts) behind an in-process gateway with a fresh data directory, the example traffic
// through it (every example customer asks every slice once, then the demo's sample requests), then
// `ficus report --format html` of the comparisons it wrote, in Debian's headless Chromium: the
// summary of every slice and the first slice's page.
//
//   node --import tsx scripts/report-screenshot.ts [--out FILE] [--html FILE]
//
// CHROMIUM_PATH overrides /usr/bin/chromium. `--html` also keeps the rendered report. No admin
// token, Redis or Kafka: the gateway runs on its embedded defaults, like the demo.
import { randomUUID } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium, type Browser } from 'playwright-core'
import { Agent, request } from 'undici'
import { CUSTOMER_HEADER, customerRound, FIRST_CUSTOMER } from '../examples/example-clients.ts'
import type { GatewayConfig } from '../src/config/types.ts'
import { COMPARISONS_DIR } from '../src/app/data-dir.ts'
import { readComparisonsFromJsonl } from '../src/report/sources/jsonl-source.ts'
import { renderHtml } from '../src/report/render-html.ts'
import { buildReport, ComparisonAggregator } from '../src/report/report.ts'
import { ROOT, withExampleStack } from './example-stack.ts'

const VIEWPORT = { width: 1280, height: 900 }
/** The picture stops after the first slice's charts, and never runs longer than this. */
const MAX_HEIGHT_PX = 1_800

interface Sample {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: unknown
}

/** The demo's sample requests (examples/demo.ts), one per story it tells. */
const SAMPLES: readonly Sample[] = [
  { method: 'GET', path: '/pas/v1/policy/P-1001/status' },
  { method: 'GET', path: '/pas/v1/policy/P-1004/status' },
  { method: 'GET', path: '/pas/v1/policy/P-1005/status' },
  { method: 'GET', path: '/pas/v1/policy/P-1007/status' },
  { method: 'GET', path: '/pas/v1/policy/P-1008/status' },
  { method: 'GET', path: '/pas/v1/policy/P-9999/status' },
  { method: 'GET', path: '/pas/v1/billing/P-1001/eligibility' },
  { method: 'GET', path: '/pas/v1/billing/P-1006/eligibility' },
  { method: 'GET', path: '/pas/v1/policy/P-1003/claims/lodgement-check?loss_date=2024-05-01' },
  { method: 'POST', path: '/pas/v1/claims', body: { pol_no: 'P-1001', loss_dt: '2026-11-20' } },
  { method: 'GET', path: '/pas/v1/agents/A-77' },
]

async function sendSamples(base: string): Promise<void> {
  const client = new Agent()
  const run = randomUUID().slice(0, 8)
  try {
    for (const [index, sample] of SAMPLES.entries()) {
      const response = await request(base + sample.path, {
        dispatcher: client,
        method: sample.method,
        headers: {
          'x-request-id': `report-${run}-${index}`,
          [CUSTOMER_HEADER]: FIRST_CUSTOMER,
          ...(sample.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(sample.body === undefined ? {} : { body: JSON.stringify(sample.body) }),
      })
      await response.body.dump()
    }
  } finally {
    await client.close()
  }
}

interface Overview {
  readonly slices: readonly { readonly id: string; readonly authority: string; readonly report: { readonly records: number } }[]
}

async function overview(adminUrl: string): Promise<Overview> {
  const response = await request(`${adminUrl}/admin/overview`, { headers: { accept: 'application/json' } })
  if (response.statusCode !== 200) throw new Error(`GET /admin/overview answered ${response.statusCode}`)
  return (await response.body.json()) as Overview
}

/** At least a second for the comparisons (re-asks wait up to 2 s), then until the count stops moving. */
async function waitForComparisons(adminUrl: string): Promise<Overview> {
  await sleep(1_000)
  const count = (view: Overview): number => view.slices.reduce((sum, slice) => sum + slice.report.records, 0)
  let last = await overview(adminUrl)
  for (let attempt = 0; attempt < 40; attempt++) {
    await sleep(250)
    const now = await overview(adminUrl)
    if (count(now) === count(last)) return now
    last = now
  }
  return last
}

/** `ficus report --format html` of the data directory, with each slice's live authority. */
async function renderReport(slices: GatewayConfig['slices'], dataDir: string, authorities: Record<string, string>): Promise<{ html: string; records: number }> {
  const aggregator = new ComparisonAggregator()
  const dir = join(dataDir, COMPARISONS_DIR)
  await readComparisonsFromJsonl(dir, (record) => aggregator.add(record))
  const report = buildReport(aggregator, slices, { source: 'jsonl data/comparisons (the example traffic)', window: { from: null, to: null } })
  return { html: renderHtml(report, authorities), records: report.read }
}

async function screenshot(file: string, out: string): Promise<number> {
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light' })
    const page = await context.newPage()
    page.setDefaultTimeout(15_000)
    await page.goto(pathToFileURL(file).href)
    await page.evaluate('document.fonts.ready')
    // The summary, then the first slice down to the end of its charts.
    const charts = await page.locator('section.slice').first().locator('.charts').boundingBox()
    if (!charts) throw new Error('the first slice has no charts: did the example traffic reach the gateway?')
    const height = Math.min(MAX_HEIGHT_PX, Math.ceil(charts.y + charts.height + 8))
    await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: VIEWPORT.width, height }, animations: 'disabled' })
    return height
  } finally {
    await browser?.close()
  }
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: join(ROOT, 'docs', 'report.png') }, html: { type: 'string' } },
    allowPositionals: false,
  })
  const out = resolve(values.out)
  await withExampleStack('report-screenshot', async ({ gateway, dataDir, closeGateway }) => {
    // Like the demo: the customers' round first (the evidence noise is learned on), then the samples.
    await customerRound(gateway.url)
    await sendSamples(gateway.url)
    const seen = await waitForComparisons(gateway.adminUrl)
    const authorities = Object.fromEntries(seen.slices.map((slice) => [slice.id, slice.authority]))
    const slices = gateway.config.slices
    // Closing the gateway writes out every comparison it still holds.
    await closeGateway()
    const { html, records } = await renderReport(slices, dataDir, authorities)
    const file = values.html === undefined ? join(dataDir, 'report.html') : resolve(values.html)
    await writeFile(file, html)
    const height = await screenshot(file, out)
    const { size } = await stat(out)
    process.stdout.write(`${out}: ${VIEWPORT.width}×${height} px, ${size} bytes — report of ${records} comparison(s)\n`)
  })
}

await run()
