// Retakes docs/dashboard.png: the example migration (examples/example-services.ts and the
// repository's routes.config.ts) behind an in-process gateway with a fresh data directory, a few
// hundred of the demo's sample requests through it, then the admin port's dashboard in Debian's
// headless Chromium.
//
//   node --import tsx scripts/dashboard-screenshot.ts [--out FILE]
//
// CHROMIUM_PATH overrides /usr/bin/chromium. No admin token is set, so the admin API listens on
// loopback only and the dashboard opens without asking for one.
import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { chromium, type Browser } from 'playwright-core'
import { Agent, request } from 'undici'
import { ROOT, withExampleStack } from './example-stack.ts'

const POLICIES = ['P-1001', 'P-1002', 'P-1003', 'P-1004', 'P-1005', 'P-1006'] as const
/** Rounds of the sample requests: enough for agreement figures and every category of the example. */
const ROUNDS = 24
/** Requests in flight at once: well inside the gateway's shadow queue (32 running, 128 waiting). */
const CONCURRENCY = 4
const VIEWPORT = { width: 1280, height: 800 }

interface Sample {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: unknown
}

/** The demo's sample requests (examples/demo.ts), for one policy. */
function samplesFor(policy: string): Sample[] {
  return [
    { method: 'GET', path: `/pas/v1/policy/${policy}/status` },
    { method: 'GET', path: `/pas/v1/billing/${policy}/eligibility` },
    { method: 'GET', path: `/pas/v1/policy/${policy}/claims/lodgement-check?loss_date=2024-05-01` },
    { method: 'POST', path: '/pas/v1/claims', body: { pol_no: policy, loss_dt: '2026-11-20' } },
  ]
}

function traffic(): Sample[] {
  const samples: Sample[] = []
  for (let round = 0; round < ROUNDS; round++) {
    for (const policy of POLICIES) samples.push(...samplesFor(policy))
    samples.push({ method: 'GET', path: '/pas/v1/policy/P-9999/status' }, { method: 'GET', path: '/pas/v1/agents/A-77' })
  }
  return samples
}

async function send(client: Agent, base: string, sample: Sample, requestId: string): Promise<number> {
  const response = await request(base + sample.path, {
    dispatcher: client,
    method: sample.method,
    headers: { 'x-request-id': requestId, ...(sample.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(sample.body === undefined ? {} : { body: JSON.stringify(sample.body) }),
  })
  await response.body.dump()
  return response.statusCode
}

async function sendAll(base: string, samples: readonly Sample[]): Promise<void> {
  const client = new Agent({ connections: CONCURRENCY })
  const run = randomUUID().slice(0, 8)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const index = next++
      const sample = samples[index]
      if (sample === undefined) return
      await send(client, base, sample, `shot-${run}-${index}`)
    }
  }
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  } finally {
    await client.close()
  }
}

interface OverviewSlice {
  readonly id: string
  readonly report: { readonly samples: number }
}

/** Compared samples over every slice, from the admin API the dashboard reads. */
async function comparedSamples(adminUrl: string): Promise<number> {
  const response = await request(`${adminUrl}/admin/overview`, { headers: { accept: 'application/json' } })
  if (response.statusCode !== 200) throw new Error(`GET /admin/overview answered ${response.statusCode}`)
  const overview = (await response.body.json()) as { slices: OverviewSlice[] }
  return overview.slices.reduce((sum, slice) => sum + slice.report.samples, 0)
}

/** At least a second for the comparisons (re-asks wait 150 ms), then until the count stops moving. */
async function waitForComparisons(adminUrl: string): Promise<number> {
  await sleep(1_000)
  let last = await comparedSamples(adminUrl)
  for (let attempt = 0; attempt < 20; attempt++) {
    await sleep(250)
    const now = await comparedSamples(adminUrl)
    if (now === last) return now
    last = now
  }
  return last
}

async function screenshot(adminUrl: string, out: string, sliceCount: number): Promise<void> {
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
    await page.goto(adminUrl)
    // Every slice row rendered from /admin/overview (tr.slice in #slice-rows), none of them empty.
    const rows = page.locator('#slice-rows tr.slice')
    await rows.nth(sliceCount - 1).waitFor()
    const shown = await rows.count()
    if (shown !== sliceCount) throw new Error(`the dashboard shows ${shown} slice(s), the config has ${sliceCount}`)
    // The Samples column: the fifth td (the slice's name is the row's th).
    const samples = await rows.locator('td:nth-of-type(5)').allTextContents()
    if (samples.some((text) => !/^[1-9]\d*$/.test(text))) throw new Error(`a slice shows no compared samples: ${samples.join(', ')}`)
    // Web fonts settle before the shot.
    await page.evaluate('document.fonts.ready')
    await page.screenshot({ path: out, fullPage: false, animations: 'disabled' })
  } finally {
    await browser?.close()
  }
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'docs', 'dashboard.png') } }, allowPositionals: false })
  const out = resolve(values.out)
  await withExampleStack('dashboard-screenshot', async ({ gateway }) => {
    const samples = traffic()
    await sendAll(gateway.url, samples)
    const compared = await waitForComparisons(gateway.adminUrl)
    await screenshot(gateway.adminUrl, out, gateway.config.slices.length)
    const { size } = await stat(out)
    process.stdout.write(`${out}: ${size} bytes — ${gateway.config.slices.length} slices, ${samples.length} requests, ${compared} compared samples\n`)
  })
}

await run()
