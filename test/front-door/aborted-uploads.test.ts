import type { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { head } from '../helpers/raw-socket.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// A write slice shadowed to modern under a dry-run header, with a small shadow queue: a leaked
// place per aborted upload would stop all shadowing after a handful of them.
let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let port: number
let stopped = false

const ABORTED_MID_BODY = 200
const LEFT_BEFORE_ANSWER = 100

beforeAll(async () => {
  const answer = (slow: boolean) => async (_request: unknown, response: ServerResponse) => {
    if (slow) await sleep(300)
    if (response.destroyed) return
    response.writeHead(201, { 'content-type': 'application/json' })
    response.end('{"claim":"C-1","state":"lodged"}')
  }
  legacy = await startUpstream('legacy', (request, response) => answer((request.url ?? '').includes('slow'))(request, response))
  modern = await startUpstream('modern', (request, response) => answer(false)(request, response))
  const config = sampleConfig(legacy.url, modern.url, { gateway: { shadow: { concurrency: 4, queue: 4 } } })
  config.slices['claims'] = {
    description: 'Lodging a claim',
    authority: 'legacy',
    routes: [{ method: 'POST', path: '/claims' }],
    shadow: { writes: { modern: { dryRunHeader: { name: 'x-dry-run', value: 'yes' } } } },
  }
  gateway = await startTestGateway(config)
  port = Number(new URL(gateway.url).port)
})
afterAll(async () => {
  if (!stopped) await gateway.stop()
  await legacy.close()
  await modern.close()
})

/** Sends the head and part of a body (or all of it), then leaves without waiting for the answer. */
function abortedUpload(path: string, sent: number, declared: number, leaveAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head('POST', path, { 'content-type': 'application/json', 'content-length': String(declared) }))
      socket.write(Buffer.alloc(sent, 0x20))
      setTimeout(() => socket.destroy(), leaveAfterMs)
    })
    socket.on('error', () => undefined)
    socket.once('close', () => resolve())
  })
}

async function metrics(): Promise<string> {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text()
}

const gauge = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)

describe('aborted uploads never leak the parallel run', () => {
  it(`${ABORTED_MID_BODY} clients leaving mid-body and ${LEFT_BEFORE_ANSWER} leaving before the answer: the shadow queue empties and shadowing goes on`, async () => {
    for (let batch = 0; batch < ABORTED_MID_BODY / 25; batch++) {
      await Promise.all(Array.from({ length: 25 }, () => abortedUpload('/claims', 1_000, 65_536, 20)))
    }
    const body = '{"policy":"P-1"}'
    for (let batch = 0; batch < LEFT_BEFORE_ANSWER / 25; batch++) {
      await Promise.all(Array.from({ length: 25 }, () => abortedUpload('/claims?slow=1', body.length, body.length, 50)))
    }

    // Bounded wait for the queue to drain: every run ends once its request has ended.
    let text = ''
    for (let attempt = 0; attempt < 100; attempt++) {
      text = await metrics()
      if (gauge(text, 'ficus_shadow_queue_depth{state="active"}') === 0 && gauge(text, 'ficus_shadow_queue_depth{state="waiting"}') === 0) break
      await sleep(100)
    }
    expect(gauge(text, 'ficus_shadow_queue_depth{state="active"}')).toBe(0)
    expect(gauge(text, 'ficus_shadow_queue_depth{state="waiting"}')).toBe(0)
    expect(gauge(text, 'ficus_shadow_skipped_total{slice="claims",reason="client-closed"}')).toBeGreaterThanOrEqual(ABORTED_MID_BODY)

    // Shadowing still works: more complete writes than the queue holds are all compared.
    const before = modern.requests.length
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${gateway.url}/claims`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `after-aborts-${i}` },
        body,
      })
      expect(response.status).toBe(201)
      await response.text()
      const record = await comparisonOf(gateway.dataDir, `after-aborts-${i}`)
      expect(record.family).toBe('match')
    }
    expect(modern.requests.length - before).toBe(12)
    expect(modern.requests.at(-1)?.headers['x-dry-run']).toBe('yes')

    // Each abort is one request line with status 499, and none of them is an internal error.
    const lines = gateway.logs.filter((entry) => entry.msg === 'request' && entry.path === '/claims')
    expect(lines.filter((entry) => entry.status === 499).length).toBeGreaterThanOrEqual(ABORTED_MID_BODY + LEFT_BEFORE_ANSWER)
    expect(gateway.logs.filter((entry) => (entry.level as number) >= 50)).toEqual([])
  })

  it('shutdown does not wait for runs of clients that left', async () => {
    await Promise.all(Array.from({ length: 20 }, () => abortedUpload('/claims', 500, 65_536, 20)))
    const started = Date.now()
    stopped = true
    await gateway.stop()
    expect(Date.now() - started).toBeLessThan(3_000)
  })
})
