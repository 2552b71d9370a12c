import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { runFicus } from '../helpers/processes.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { closedPort, startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// Legacy stamps every answer with a new time: asked twice it differs from itself on `asOf` — noise,
// once the evidence says so. Modern never answers the same `asOf`.
let legacy: TestUpstream
let modern: TestUpstream
let stamp = 0
beforeAll(async () => {
  legacy = await startUpstream('legacy', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: 'ACTIVE', asOf: `legacy-${++stamp}` }))
  })
  modern = await startUpstream('modern', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ status: 'ACTIVE', asOf: 'modern' }))
  })
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
})

const ROUTE = 'GET /policy/:id/status'

function config(): GatewayConfigInput {
  const input = sampleConfig(legacy.url, modern.url)
  input.slices['policy-status']!.shadow = { noise: { sample: 100 } }
  // asOf is a key of the slice's shape: published in clear, so operators name it as it is.
  input.slices['policy-status']!.compare = { clearKeys: ['/asOf'] }
  return input
}

async function judged(gateway: TestGateway, id: string): Promise<string> {
  await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': id } })
  return (await comparisonOf(gateway.dataDir, id)).family
}

interface Listing {
  paths: {
    route: string
    path: string
    state: string
    selfDifferences: number
    doubleAsks: number
    decision: { decision: string; actor: string; reason: string } | null
  }[]
}

const decide = (gateway: TestGateway, body: Record<string, unknown>, actor = 'ana@platform') =>
  send(`${gateway.adminUrl}/admin/slices/policy-status/noise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ficus-actor': actor },
    body: JSON.stringify(body),
  })

describe('learned noise, visible and reversible', () => {
  it('lists the evidence; an operator rejects a path (audited, kept across a restart) and confirms it again', async () => {
    let gateway = await startTestGateway(config())
    const dataDir = gateway.dataDir
    try {
      // Two conflicts while the evidence builds up, then noise.
      expect([await judged(gateway, 'n-1'), await judged(gateway, 'n-2')]).toEqual(['genuine-conflict', 'genuine-conflict'])
      expect(await judged(gateway, 'n-3')).toBe('noise')
      const listing = JSON.parse((await send(`${gateway.adminUrl}/admin/slices/policy-status/noise`)).body) as Listing
      expect(listing.paths).toEqual([
        expect.objectContaining({ route: ROUTE, path: '/body/asOf', state: 'learned', selfDifferences: 3, doubleAsks: 3, decision: null }),
      ])

      const refused = await decide(gateway, { route: 'GET /nowhere', path: '/body/asOf', decision: 'reject', reason: 'x' })
      expect(refused.status).toBe(400)
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'FICUS_ERR_DECISION_INVALID' })
      expect((await decide(gateway, { route: ROUTE, path: '/body/asOf', decision: 'reject' })).status).toBe(400)

      const rejected = await decide(gateway, {
        route: ROUTE,
        path: '/body/asOf',
        decision: 'reject',
        reason: 'asOf is when the answer was made: it must agree',
      })
      expect(rejected.status).toBe(200)
      expect(await judged(gateway, 'n-4')).toBe('genuine-conflict')

      // The CLI lists it with the decision; the audit says who and why.
      const cli = await runFicus(['noise', 'policy-status', '--admin-url', gateway.adminUrl])
      expect(cli.code).toBe(0)
      expect(cli.stdout).toMatch(/GET \/policy\/:id\/status\s+\/body\/asOf\s+rejected\s+4\s+4\s+100 %/)
      expect(cli.stdout).toContain('reject by ana@platform: asOf is when the answer was made: it must agree')
      const audit = JSON.parse((await send(`${gateway.adminUrl}/admin/noise-decisions?slice=policy-status`)).body) as {
        entries: { decision: string; actor: string; path: string }[]
      }
      expect(audit.entries).toEqual([expect.objectContaining({ decision: 'reject', actor: 'ana@platform', path: '/body/asOf' })])

      // A restart keeps the decision.
      await gateway.stop({ keepData: true })
      gateway = await startTestGateway(config(), { dataDir })
      for (let i = 5; i < 9; i++) expect(await judged(gateway, `n-${i}`)).toBe('genuine-conflict')

      const confirmed = await runFicus(
        [
          'noise',
          'policy-status',
          'confirm',
          '--route',
          ROUTE,
          '--path',
          '/body/asOf',
          '--reason',
          'it is a generation time after all',
          '--admin-url',
          gateway.adminUrl,
        ],
        { FICUS_ACTOR: 'bo@platform' },
      )
      expect(confirmed.code).toBe(0)
      expect(await judged(gateway, 'n-9')).toBe('noise')
    } finally {
      await gateway.stop()
    }
  })

  it('a decision reaches every instance through Redis, and is refused while Redis is away', async () => {
    const prefix = uniquePrefix()
    const env = { REDIS_URL, FICUS_REDIS_PREFIX: prefix }
    const one = await startTestGateway(config(), { env, instance: 'gw-1' })
    const two = await startTestGateway(config(), { env, instance: 'gw-2' })
    try {
      for (let i = 0; i < 3; i++) await judged(two, `r-${i}`)
      expect(await judged(two, 'r-3')).toBe('noise')
      expect((await decide(one, { route: ROUTE, path: '/body/asOf', decision: 'reject', reason: 'never noise' })).status).toBe(200)
      // gw-2 applies gw-1's decision as soon as Redis pushes it.
      let family = ''
      for (let i = 0; i < 50 && family !== 'genuine-conflict'; i++) family = await judged(two, `r-after-${i}`)
      expect(family).toBe('genuine-conflict')
    } finally {
      await one.stop()
      await two.stop()
      await dropPrefix(prefix)
    }

    const away = await startTestGateway(config(), { env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` } })
    try {
      const refused = await decide(away, { route: ROUTE, path: '/body/asOf', decision: 'confirm', reason: 'x' })
      expect(refused.status).toBe(503)
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE' })
    } finally {
      await away.stop()
    }
  })
})
