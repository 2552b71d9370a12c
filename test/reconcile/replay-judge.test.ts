import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PublishedPaths } from '../../src/compare/published-paths.ts'
import { validateConfig } from '../../src/config/validate.ts'
import type { GatewayConfig, SliceConfig } from '../../src/config/types.ts'
import { replayEventId, replayPair, type ReplayContext } from '../../src/reconcile/replay-judge.ts'
import { capturedAnswer, capturedPair } from '../helpers/captured-pairs.ts'
import { sampleConfig } from '../helpers/gateway.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

const SALT = 'replay-judge-test-salt'
const ROUTE = 'GET /policy/:id/status'

// Both sides answer the same decision; their `asOf` differs by request (a clock in the body).
let legacy: TestUpstream
let modern: TestUpstream
let config: GatewayConfig
let slice: SliceConfig
let context: ReplayContext

beforeAll(async () => {
  const answer = (asOf: string) => (_request: unknown, response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ policyNumber: 'P-1', status: 'ACTIVE', asOf }))
  }
  legacy = await startUpstream('legacy', answer('2026-11-23T10:00:00Z'))
  modern = await startUpstream('modern', answer('2026-11-23T10:00:01Z'))
  config = validateConfig(sampleConfig(legacy.url, modern.url))
  slice = config.slices[0] as SliceConfig
  context = { config, slice, paths: new PublishedPaths(slice.compare.keys, SALT), identity: undefined, salt: SALT, instance: 'replay-test' }
})

afterAll(async () => {
  await legacy?.close()
  await modern?.close()
})

/** `/body/asOf` as the gateway publishes it: a key from data, hashed with the deployment's salt. */
function asOfPath(): string {
  return `/body/${context.paths.key(['body', 'asOf'], 1)}`
}

async function answers() {
  return { legacy: await capturedAnswer(`${legacy.url}/policy/P-1/status`), modern: await capturedAnswer(`${modern.url}/policies/P-1`) }
}

describe('a captured pair judged again', () => {
  it("uses the original comparison's noise paths as the noisy set", async () => {
    const both = await answers()
    const noisy = await replayPair(
      capturedPair(comparison({ slice: 'policy-status', route: ROUTE, category: 'noise', noisePaths: [asOfPath()] }), both.legacy, both.modern),
      context,
    )
    expect(noisy).toMatchObject({ kind: 'judged', record: { family: 'noise', noisePaths: [asOfPath()] } })
    const plain = await replayPair(
      capturedPair(comparison({ slice: 'policy-status', route: ROUTE, category: 'body-mismatch' }), both.legacy, both.modern),
      context,
    )
    expect(plain).toMatchObject({ kind: 'judged', record: { family: 'genuine-conflict', category: 'body-mismatch' } })
  })

  it('keeps a timing lag the replay agrees with, with its measured lag and re-asks', async () => {
    const both = await answers()
    const original = comparison({ slice: 'policy-status', route: ROUTE, category: 'timing-lag', lagMs: 1_200, noisePaths: [asOfPath()] })
    const replayed = await replayPair(capturedPair({ ...original, reasks: 2, reasked: true }, both.legacy, both.modern), context)
    expect(replayed).toMatchObject({
      kind: 'judged',
      record: { family: 'timing-lag', category: 'timing-lag', lagMs: 1_200, reasks: 2, reasked: true, cause: null },
    })
  })

  it('settles a 5xx answer as the parallel run does', async () => {
    const both = await answers()
    const failed = { ...both.modern, status: 503 }
    const replayed = await replayPair(capturedPair(comparison({ slice: 'policy-status', route: ROUTE }), both.legacy, failed), context)
    expect(replayed).toMatchObject({ kind: 'judged', record: { family: 'shadow-error', cause: '5xx' } })
  })

  it('skips a capture whose bytes are not the ones its hash names', async () => {
    const both = await answers()
    const tampered = { ...both.modern, body: Buffer.from('{"policyNumber":"P-2","status":"ACTIVE","asOf":"x"}').toString('base64') }
    expect(await replayPair(capturedPair(comparison({ slice: 'policy-status', route: ROUTE }), both.legacy, tampered), context)).toEqual({
      kind: 'skipped',
      reason: 'capture-inconsistent',
    })
  })
})

describe('the event id of a replay', () => {
  it('is a UUID fixed by the original event id and the rules hash', () => {
    const id = replayEventId('0b8f4c1e-2f57-4a8e-9d55-0f5e4f6b1a22', 'sha256:aaaa')
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(replayEventId('0b8f4c1e-2f57-4a8e-9d55-0f5e4f6b1a22', 'sha256:aaaa')).toBe(id)
    expect(replayEventId('0b8f4c1e-2f57-4a8e-9d55-0f5e4f6b1a22', 'sha256:bbbb')).not.toBe(id)
    expect(replayEventId('1b8f4c1e-2f57-4a8e-9d55-0f5e4f6b1a22', 'sha256:aaaa')).not.toBe(id)
  })
})
