import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { comparisonOf, readComparisons, readShadowSkips } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, type Handler, type TestUpstream } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

// A lab with upstreams of its own, for verdicts a go/no-go meeting must be able to trust.
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

const json =
  (body: unknown, status = 200): Handler =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' })
    response.end(JSON.stringify(body))
  }

async function upstream(name: string, handler: Handler): Promise<TestUpstream> {
  const server = await startUpstream(name, handler)
  cleanup.push(() => server.close())
  return server
}

async function gateway(config: GatewayConfigInput, options: { dataDir?: string } = {}): Promise<TestGateway> {
  const running = await startTestGateway(config, options)
  cleanup.push(() => running.stop())
  return running
}

async function sendMany(base: string, count: number, prefix: string, path = '/policy/P-1/status'): Promise<void> {
  for (let i = 0; i < count; i++) await send(`${base}${path}`, { headers: { 'x-request-id': `${prefix}-${i}` } })
}

describe('noise needs repeated evidence', () => {
  it('a field legacy answered differently once when asked twice is not noise: the conflicts on it that follow are counted', async () => {
    let calls = 0
    const legacy = await upstream('legacy', (request, response) => {
      calls += 1
      // The second call is the double-ask of the first request: the only self-difference ever.
      void json({ status: calls === 2 ? 'PENDING' : 'ACTIVE' })(request, response, Buffer.alloc(0))
    })
    const modern = await upstream('modern', json({ status: 'SUSPENDED' }))
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = { noise: { sample: 100 } }
    const running = await gateway(config)
    await sendMany(running.url, 31, 'noise')
    await comparisonOf(running.dataDir, 'noise-30')
    const { records } = await readComparisons(running.dataDir)
    expect(records).toHaveLength(31)
    expect(records.filter((record) => record.family === 'genuine-conflict')).toHaveLength(31)
    expect(records.filter((record) => record.family === 'noise')).toHaveLength(0)
    // The evidence is visible: one self-difference in 31 double-asks, not learned. The slice names
    // no field, so `status` is published hashed — and the evidence still adds up under one segment.
    const listing = (await (await fetch(`${running.adminUrl}/admin/slices/policy-status/noise`)).json()) as {
      paths: { path: string; state: string; selfDifferences: number; doubleAsks: number }[]
    }
    expect(listing.paths).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/^\/body\/#[0-9a-f]{16}$/) as string, state: 'watching', selfDifferences: 1, doubleAsks: 31 }),
    ])
    expect(new Set(records.map((record) => record.diff[0]?.path))).toEqual(new Set([listing.paths[0]?.path]))
  })
})

describe('what was never compared is not a conflict', () => {
  it('an answer over the capture cap, a compression bomb and an unknown encoding are not-compared, with their cause', async () => {
    const big = JSON.stringify({ status: 'ACTIVE', items: Array.from({ length: 5_000 }, (_, i) => ({ i, text: 'x'.repeat(20) })) })
    const bomb = gzipSync(Buffer.from(JSON.stringify({ status: 'ACTIVE', pad: ' '.repeat(4 * 1024 * 1024) })))
    const legacy = await upstream('legacy', (request, response) => {
      if (request.url?.includes('/big/')) {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(big)
      } else void json({ status: 'ACTIVE' })(request, response, Buffer.alloc(0))
    })
    const modern = await upstream('modern', (request, response) => {
      if (request.url?.includes('/bomb/')) {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        response.end(bomb)
      } else if (request.url?.includes('/zstd/')) {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' })
        response.end('not really zstd')
      } else void json({ status: 'ACTIVE' })(request, response, Buffer.alloc(0))
    })
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status'] = {
      description: 'd',
      authority: 'legacy',
      routes: [{ method: 'GET', path: '/:kind/:id' }],
      shadow: { maxResponseBodyBytes: 64 * 1024 },
    }
    const running = await gateway(config)
    for (const kind of ['big', 'bomb', 'zstd']) await send(`${running.url}/${kind}/1`, { headers: { 'x-request-id': `nc-${kind}` } })
    expect(await comparisonOf(running.dataDir, 'nc-big')).toMatchObject({
      family: 'not-compared',
      category: 'not-compared',
      outcome: 'not-compared',
      cause: 'over-capture-cap',
      diff: [],
    })
    expect(await comparisonOf(running.dataDir, 'nc-bomb')).toMatchObject({
      family: 'not-compared',
      cause: expect.stringMatching(/^gzip body could not be decoded/) as string,
    })
    expect(await comparisonOf(running.dataDir, 'nc-zstd')).toMatchObject({ family: 'not-compared', cause: 'content-encoding zstd' })
    const report = (await (await fetch(`${running.adminUrl}/admin/slices/policy-status/report`)).json()) as {
      families: Record<string, number>
      notCompared: Record<string, number>
    }
    expect(report.families).toMatchObject({ 'not-compared': 3, 'genuine-conflict': 0 })
    expect(Object.values(report.notCompared).reduce((sum, count) => sum + count, 0)).toBe(3)
  })
})

describe('evidence belongs to the rules it was made under', () => {
  it('after a translation fix, fresh matching evidence passes the guard without force; the old evidence still shows', async () => {
    const legacy = await upstream('legacy', json({ stat: 'ACTV' }))
    const modern = await upstream('modern', json({ status: 'ACTIVE' }))
    const base = (values: Record<string, string>): GatewayConfigInput => {
      const config = sampleConfig(legacy.url, modern.url, {
        readiness: {
          minSamples: 20,
          minMatchRate: 80,
          maxConflictRate: 0,
          maxTranslationDefectRate: 0,
          maxShadowErrorRate: 0,
          latency: false,
          minSoakHours: 0,
          windowDays: 7,
        },
      })
      config.slices['policy-status']!.shadow = {}
      config.slices['policy-status']!.translate = { version: 'status/1', legacy: { rename: { '/stat': '/status' }, values: { '/status': values } } }
      return config
    }
    // Rules v1 map ACTV wrongly: every comparison is a conflict.
    const first = await startTestGateway(base({ ACTV: 'ACTIVATED' }))
    const dataDir = first.dataDir
    await sendMany(first.url, 10, 'v1')
    await comparisonOf(dataDir, 'v1-9')
    await first.stop({ keepData: true })

    const fixed = await gateway(base({ ACTV: 'ACTIVE' }), { dataDir })
    const flip = async (): Promise<Response> =>
      fetch(`${fixed.adminUrl}/admin/slices/policy-status/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authority: 'modern', reason: 'translation fixed' }),
      })
    expect((await flip()).status).toBe(409)
    await sendMany(fixed.url, 25, 'v2')
    await comparisonOf(dataDir, 'v2-24')
    const report = (await (await fetch(`${fixed.adminUrl}/admin/slices/policy-status/report`)).json()) as {
      rulesHash: string
      samples: number
      readiness: { ready: boolean; evidence: { rulesHash: string } }
      rulesVersions: { rulesHash: string; current: boolean; families: Record<string, number> }[]
    }
    expect(report.samples).toBe(25)
    expect(report.readiness).toMatchObject({ ready: true, evidence: { rulesHash: report.rulesHash } })
    expect(report.rulesVersions).toHaveLength(2)
    expect(report.rulesVersions.find((version) => !version.current)?.families).toMatchObject({ 'genuine-conflict': 10 })
    const flipped = await flip()
    expect(flipped.status).toBe(200)
    const history = (await (await fetch(`${fixed.adminUrl}/admin/history?slice=policy-status`)).json()) as { entries: { forced: boolean }[] }
    expect(history.entries[0]?.forced).toBe(false)
  })
})

describe('lag is measured', () => {
  it('a lagging modern side shows its measured lag and fails the lag criterion; a lag beyond the re-asks is a conflict', async () => {
    const firstSeen = new Map<string, number>()
    const lagFor = (request: { url?: string }): number => (request.url?.includes('/slow/') ? 5_000 : 300)
    const legacy = await upstream('legacy', json({ status: 'ACTIVE' }))
    const modern = await upstream('modern', (request, response) => {
      const id = String(request.headers['x-request-id'])
      const first = firstSeen.get(id) ?? Date.now()
      firstSeen.set(id, first)
      void json({ status: Date.now() - first < lagFor(request) ? 'SUSPENDED' : 'ACTIVE' })(request, response, Buffer.alloc(0))
    })
    const config = sampleConfig(legacy.url, modern.url, {
      readiness: { minSamples: 1, minMatchRate: 0, maxLagRate: 100, maxLagP95Ms: 100, latency: false, minSoakHours: 0 },
    })
    config.slices['policy-status'] = {
      description: 'd',
      authority: 'legacy',
      routes: [{ method: 'GET', path: '/:kind/:id' }],
      shadow: { reask: { delayMs: 100, maxMs: 1_000 } },
    }
    const running = await gateway(config)
    await send(`${running.url}/lag/1`, { headers: { 'x-request-id': 'lag-1' } })
    const lagged = await comparisonOf(running.dataDir, 'lag-1')
    expect(lagged).toMatchObject({ family: 'timing-lag', reasked: true })
    expect(lagged.lagMs).toBeGreaterThanOrEqual(290)
    expect(lagged.lagMs).toBeLessThan(1_000)

    await send(`${running.url}/slow/1`, { headers: { 'x-request-id': 'lag-2' } })
    expect(await comparisonOf(running.dataDir, 'lag-2', 15_000)).toMatchObject({ family: 'genuine-conflict', cause: 'not-converged', lagMs: null, reasks: 4 })

    const report = (await (await fetch(`${running.adminUrl}/admin/slices/policy-status/report`)).json()) as {
      lag: { count: number; p95: number }
      readiness: { criteria: { id: string; met: boolean }[] }
    }
    expect(report.lag.count).toBe(1)
    expect(report.lag.p95).toBeGreaterThan(250)
    expect(report.readiness.criteria.find((criterion) => criterion.id === 'lag-p95')?.met).toBe(false)
  })
})

describe('shadow breakers are per slice', () => {
  it('one slice failing on the modern side skips its own shadow calls, never another slice’s; skips are not modern errors', async () => {
    const legacy = await upstream('legacy', json({ ok: true }))
    const modern = await upstream('modern', (request, response) => {
      if (request.url?.startsWith('/failing/')) {
        response.writeHead(500, { 'content-type': 'application/json' })
        response.end('{}')
      } else void json({ ok: true })(request, response, Buffer.alloc(0))
    })
    const config = sampleConfig(legacy.url, modern.url)
    config.upstreams.modern!.breaker = { shadow: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 } }
    config.gateway = { shadow: { skipsIntervalMs: 100 } }
    config.slices = {
      failing: { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/failing/:id' }], shadow: {} },
      healthy: { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/healthy/:id' }], shadow: {} },
    }
    const running = await gateway(config)
    await sendMany(running.url, 20, 'bad', '/failing/1')
    await sendMany(running.url, 5, 'good', '/healthy/1')
    await comparisonOf(running.dataDir, 'good-4')
    // Once open, the breaker is asked before a run opens: those requests are counted (ShadowSkips), not recorded.
    const skipped = async (): Promise<number> =>
      (await readShadowSkips(running.dataDir)).reduce((sum, event) => sum + (event.slice === 'failing' ? (event.counts['breaker-open'] ?? 0) : 0), 0)
    await until(
      async () => (await readComparisons(running.dataDir)).records.filter((r) => r.slice === 'failing').length + (await skipped()) === 20,
      'every failing request accounted for',
    )
    const { records } = await readComparisons(running.dataDir)
    const failing = records.filter((record) => record.slice === 'failing')
    expect(await skipped()).toBeGreaterThan(0)
    expect((await readShadowSkips(running.dataDir)).every((event) => event.slice === 'failing')).toBe(true)
    expect(records.filter((record) => record.slice === 'healthy').map((record) => record.family)).toEqual(['match', 'match', 'match', 'match', 'match'])
    const states = (await (await fetch(`${running.adminUrl}/admin/slices`)).json()) as { slices: { id: string; breakers: { modern: { shadow: string } } }[] }
    expect(states.slices.find((slice) => slice.id === 'failing')?.breakers.modern.shadow).toBe('open')
    expect(states.slices.find((slice) => slice.id === 'healthy')?.breakers.modern.shadow).toBe('closed')
    // The report's modern error rate counts the 5xx answers, not the calls the open breaker never made.
    const report = (await (await fetch(`${running.adminUrl}/admin/slices/failing/report`)).json()) as {
      errorRate: { modern: number }
      families: Record<string, number>
    }
    const errors = failing.filter((record) => record.family === 'shadow-error').length
    expect(report.errorRate.modern).toBe(1)
    expect(report.families['shadow-error']).toBe(errors)
    // The readiness evidence counts the published skips as it counted recorded ones.
    expect(report.families['shadow-skipped']).toBe((await skipped()) + failing.filter((record) => record.family === 'shadow-skipped').length)
  })
})

describe('byte-identical answers', () => {
  // Both sides answering the very same bytes is the common case of a converging slice; the gateway
  // decodes such a body once. These hold what must not change with that: translation still applies
  // to one side only, the content type still decides how the bytes are read, and a body that does
  // not parse is still the authoritative side's error.
  const raw =
    (body: string, contentType = 'application/json'): Handler =>
    (_request, response) => {
      response.writeHead(200, { 'content-type': contentType })
      response.end(body)
    }

  async function judged(legacyHandler: Handler, modernHandler: Handler, configure: (config: GatewayConfigInput) => void = () => undefined) {
    const legacy = await upstream('legacy', legacyHandler)
    const modern = await upstream('modern', modernHandler)
    const config = sampleConfig(legacy.url, modern.url)
    config.slices['policy-status']!.shadow = {}
    configure(config)
    const running = await gateway(config)
    await send(`${running.url}/policy/P-1/status`, { headers: { 'x-request-id': 'same-bytes' } })
    return await comparisonOf(running.dataDir, 'same-bytes')
  }

  it('the same bytes are a match, with both sides hashed alike', async () => {
    const record = await judged(raw('{"status":"ACTIVE","n":1}'), raw('{"status":"ACTIVE","n":1}'))
    expect(record).toMatchObject({ family: 'match', diff: [] })
    expect(record.primary.bodyHash).toBe(record.shadow.bodyHash)
  })

  it('the same bytes, with a legacy translation: the translated legacy answer is judged against the modern one', async () => {
    const record = await judged(raw('{"status":"ACTV"}'), raw('{"status":"ACTV"}'), (config) => {
      config.slices['policy-status']!.translate = { version: 'status/1', legacy: { values: { '/status': { ACTV: 'ACTIVE' } } } }
    })
    expect(record.family).toBe('genuine-conflict')
    expect(record.diff).toHaveLength(1)
    expect(record.diff[0]).toMatchObject({ kind: 'changed' })
  })

  it('the same bytes under different content types are read as each side labels them', async () => {
    const record = await judged(raw('{"status":"ACTIVE"}'), raw('{"status":"ACTIVE"}', 'text/plain'))
    expect(record).toMatchObject({ family: 'not-compared', cause: 'media text/plain' })
  })

  it('the same bytes that do not parse are the authoritative side’s invalid JSON', async () => {
    const record = await judged(raw('{"status":'), raw('{"status":'))
    expect(record).toMatchObject({ category: 'primary-error', cause: 'invalid-json' })
  })
})
