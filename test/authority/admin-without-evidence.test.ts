import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium } from '../helpers/browser.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// Kafka and Redis configured: readiness evidence is the reporter's aggregates in Redis. With Redis
// gone, every admin request answers at once — nothing waits on a Redis command queue.
let legacy: TestUpstream
let modern: TestUpstream
let redis: PrivateRedis
let gateway: TestGateway

const SLICE = 'policy-status'

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  redis = await startPrivateRedis()
  const config = sampleConfig(legacy.url, modern.url, { readiness: { minSamples: 10, latency: false, minSoakHours: 0 } })
  gateway = await startTestGateway(config, {
    env: { REDIS_URL: redis.url, FICUS_REDIS_PREFIX: uniquePrefix(), KAFKA_BROKERS: inject('kafkaBrokers'), FICUS_TOPIC_COMPARISONS: `evidence-${Date.now()}` },
  })
})
afterAll(async () => {
  await gateway.stop()
  await redis.destroy()
  await legacy.close()
  await modern.close()
})

async function timed(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; ms: number; body: { code?: string; slices?: { id: string; report: unknown; evidence?: string; evidenceError?: string }[] } }> {
  const started = Date.now()
  const response = await send(`${gateway.adminUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  return { status: response.status, ms: Date.now() - started, body: JSON.parse(response.body) as never }
}

describe('the admin path never waits on evidence it cannot get', () => {
  it('with Redis up: an unready slice is refused by the guard, a forced flip goes through without reading evidence', async () => {
    const refused = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body: { authority: 'modern', reason: 'try' } })
    expect(refused).toMatchObject({ status: 409, body: { code: 'FICUS_ERR_NOT_READY' } })
    const forced = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body: { authority: '10%', reason: 'accepted risk', force: true } })
    expect(forced.status).toBe(200)
  })

  it('with Redis gone: every change answers within a second, unforced flips to modern with 503 FICUS_ERR_EVIDENCE_UNAVAILABLE', async () => {
    await redis.kill()
    const toModern = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body: { authority: 'modern', reason: 'try' } })
    expect(toModern).toMatchObject({ status: 503, body: { code: 'FICUS_ERR_EVIDENCE_UNAVAILABLE' } })
    expect(toModern.ms).toBeLessThan(1_500)
    // The store is Redis too: refused at once as well, but never after waiting on evidence.
    for (const body of [
      { authority: 'legacy', reason: 'back' },
      { authority: 'modern', reason: 'accepted risk', force: true },
    ]) {
      const answer = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body })
      expect(answer).toMatchObject({ status: 503, body: { code: 'FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE' } })
      expect(answer.ms).toBeLessThan(1_500)
    }
    const kill = await timed('/admin/kill-switch', { method: 'POST', body: { reason: 'drill' } })
    expect(kill.status).toBe(503)
    expect(kill.ms).toBeLessThan(1_500)
  })

  it('with Redis gone: the overview degrades to "evidence unavailable" per slice instead of failing', async () => {
    const overview = await timed('/admin/overview')
    expect(overview.status).toBe(200)
    expect(overview.ms).toBeLessThan(1_500)
    expect(overview.body.slices?.[0]).toMatchObject({ id: SLICE, report: null, evidence: 'unavailable' })
    expect(overview.body.slices?.[0]?.evidenceError).toMatch(/readiness evidence is unavailable/)
    const report = await timed(`/admin/slices/${SLICE}/report`)
    expect(report).toMatchObject({ status: 503, body: { code: 'FICUS_ERR_EVIDENCE_UNAVAILABLE' } })
  })

  it('with Redis gone: the dashboard in a browser says "evidence unavailable" for the slice and its detail', async () => {
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
      page.setDefaultTimeout(10_000)
      const failures: string[] = []
      page.on('pageerror', (err) => failures.push(err.message))
      await page.goto(gateway.adminUrl)
      const row = page.locator(`#slice-rows tr.slice[data-slice="${SLICE}"]`)
      await expect.poll(async () => row.textContent(), { timeout: 10_000 }).toContain('Evidence unavailable')
      await row.locator('button.link').click()
      await expect.poll(async () => page.locator('#detail-evidence').textContent(), { timeout: 10_000 }).toContain('Evidence unavailable')
      expect(failures).toEqual([])
    } finally {
      await browser.close()
    }
  })

  it('once Redis is back, the guard reads evidence again', async () => {
    await redis.start()
    const deadline = Date.now() + 10_000
    let answer = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body: { authority: 'modern', reason: 'try again' } })
    while (answer.status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await timed(`/admin/slices/${SLICE}/authority`, { method: 'PUT', body: { authority: 'modern', reason: 'try again' } })
    }
    expect(answer).toMatchObject({ status: 409, body: { code: 'FICUS_ERR_NOT_READY' } })
  })
})
