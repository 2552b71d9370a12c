import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { comparisonOf } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { head, rawExchange } from '../helpers/raw-socket.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// Raw bytes against a gateway whose upstreams record exactly what they receive.
let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let port: number

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  const config = sampleConfig(`${legacy.url}/base`, modern.url, {
    gateway: {
      ownedHeaders: ['X-Internal-Token'],
      limits: { maxHeaderCount: 50, maxHeaderBytes: 8_192, maxUrlLength: 2_048, maxBodyBytes: 1_024, headerTimeoutMs: 1_000, requestTimeoutMs: 5_000 },
    },
  })
  config.slices['policy-status']!.shadow = {}
  config.slices['claims'] = {
    description: 'Lodging a claim',
    authority: 'legacy',
    routes: [{ method: 'POST', path: '/claims' }],
    shadow: { writes: { modern: { dryRunHeader: { name: 'x-dry-run', value: 'yes' } } } },
  }
  config.slices['files'] = {
    description: 'Files',
    authority: 'legacy',
    routes: [
      { method: 'GET', path: '/files/:id' },
      { method: 'POST', path: '/files/:id' },
    ],
  }
  gateway = await startTestGateway(config)
  port = Number(new URL(gateway.url).port)
})
afterAll(async () => {
  await gateway.stop()
  await legacy.close()
  await modern.close()
})

const errorOf = (body: string): { code: string; requestId: string } => JSON.parse(body) as { code: string; requestId: string }

describe('no client speaks for the gateway', () => {
  it('strips every x-ficus-*, the dry-run header and the configured owned headers before any upstream sees them', async () => {
    const before = { legacy: legacy.requests.length, modern: modern.requests.length }
    const answer = await rawExchange(port, [
      head('GET', '/policy/P-1/status', {
        'x-request-id': 'owned-1',
        'x-ficus-traffic': 'shadow',
        'X-Ficus-Slice': 'forged',
        'x-ficus-authority': 'modern',
        'x-ficus-anything': '1',
        'x-dry-run': 'yes',
        'x-internal-token': 'secret',
        'x-kept': 'kept',
      }),
    ])
    expect(answer.status).toBe(200)
    await comparisonOf(gateway.dataDir, 'owned-1')
    const primary = legacy.requests[before.legacy]!
    const shadowed = modern.requests[before.modern]!
    for (const seen of [primary, shadowed]) {
      expect(Object.keys(seen.headers).filter((name) => name.startsWith('x-ficus-') && !(seen === shadowed && name === 'x-ficus-traffic'))).toEqual([])
      expect(seen.headers['x-dry-run']).toBeUndefined()
      expect(seen.headers['x-internal-token']).toBeUndefined()
      expect(seen.headers['x-kept']).toBe('kept')
    }
    // Only the gateway marks shadow traffic, and only on shadow calls.
    expect(primary.headers['x-ficus-traffic']).toBeUndefined()
    expect(shadowed.headers['x-ficus-traffic']).toBe('shadow')
  })

  it('a client cannot turn its authoritative write into a dry run; the dry-run header goes only to the side that declared it', async () => {
    const before = { legacy: legacy.requests.length, modern: modern.requests.length }
    const body = '{"pol_no":"P-1"}'
    const answer = await rawExchange(port, [
      head('POST', '/claims', { 'x-request-id': 'write-1', 'x-dry-run': 'yes', 'content-type': 'application/json', 'content-length': String(body.length) }) +
        body,
    ])
    expect(answer.status).toBe(200)
    await comparisonOf(gateway.dataDir, 'write-1')
    expect(legacy.requests[before.legacy]!.headers['x-dry-run']).toBeUndefined()
    expect(modern.requests[before.modern]!.headers['x-dry-run']).toBe('yes')
  })
})

describe('paths', () => {
  const rejected = [
    '/policy/../admin',
    '/policy/%2e%2e/status',
    '/policy/%2E%2e/status',
    '/policy/.%2E/status',
    '/policy/%2e/status',
    '/policy/..;/status',
    '/policy/%2e%2e;/status',
    '/policy/P-1;jsessionid=x/status',
    '/policy/a%2fb/status',
    '/policy/a%5Cb/status',
    '/policy/a\\b/status',
    '/policy/P%00-1/status',
    '/policy/P%zz/status',
    '/unclaimed/%2e%2e/%2e%2e/etc/passwd',
    '/unclaimed/..;/secret',
    '/..#',
    '/.%2e#',
    '/policy/..#/status',
    '/unclaimed/a?x=1#frag',
    'http://evil.example/a/../../secret',
    'http://evil.example/a/%2e%2e/secret',
    'http://evil.example/a\\..\\secret',
    'file:///a/../etc/passwd',
    '*',
  ]
  it.each(rejected)('refuses %s with 400 FICUS_ERR_PATH_REJECTED and forwards nothing', async (target) => {
    const before = legacy.requests.length + modern.requests.length
    const answer = await rawExchange(port, [head('GET', target, { 'x-request-id': 'path-1' })])
    expect(answer.status).toBe(400)
    expect(errorOf(answer.body)).toMatchObject({ code: 'FICUS_ERR_PATH_REJECTED', requestId: 'path-1' })
    expect(answer.headers['content-type']).toMatch(/^application\/json/)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(legacy.requests.length + modern.requests.length).toBe(before)
  })

  it('takes an absolute-form target by its path as sent', async () => {
    const answer = await rawExchange(port, [head('GET', 'http://127.0.0.1/unclaimed/abs?x=%2e', {})])
    expect(answer.status).toBe(200)
    expect(legacy.requests.at(-1)!.url).toBe('/base/unclaimed/abs?x=%2e')
  })

  it('passes ordinary paths on under the base path, query untouched', async () => {
    const answer = await rawExchange(port, [head('GET', '/unclaimed/a.b/c..d?x=%2e%2e', {})])
    expect(answer.status).toBe(200)
    expect(legacy.requests.at(-1)!.url).toBe('/base/unclaimed/a.b/c..d?x=%2e%2e')
  })
})

describe('limits and the gateway’s own answers', () => {
  const nothingForwarded = async (run: () => Promise<void>): Promise<void> => {
    const before = legacy.requests.length + modern.requests.length
    await run()
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(legacy.requests.length + modern.requests.length).toBe(before)
  }

  it('3000 header fields get 431 in the error shape — never a silently shortened request', async () => {
    await nothingForwarded(async () => {
      const fields = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`x-h${i}`, 'v']))
      const answer = await rawExchange(port, [head('GET', '/policy/P-1/status', { ...fields, authorization: 'Bearer last' })])
      expect(answer.status).toBe(431)
      expect(errorOf(answer.body).code).toBe('FICUS_ERR_HEADERS_TOO_LARGE')
    })
    await nothingForwarded(async () => {
      const fields = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'v']))
      const answer = await rawExchange(port, [head('GET', '/policy/P-1/status', fields)])
      expect(answer.status).toBe(431)
      expect(errorOf(answer.body)).toMatchObject({ code: 'FICUS_ERR_HEADERS_TOO_LARGE' })
    })
  })

  it('a URL past the limit gets 414, a body past it 413 (declared or streamed), each in the error shape', async () => {
    await nothingForwarded(async () => {
      const answer = await rawExchange(port, [head('GET', `/policy/${'x'.repeat(3_000)}/status`, { 'x-request-id': 'long-1' })])
      expect(answer.status).toBe(414)
      expect(errorOf(answer.body)).toMatchObject({ code: 'FICUS_ERR_URL_TOO_LONG', requestId: 'long-1' })
    })
    await nothingForwarded(async () => {
      const answer = await rawExchange(port, [head('POST', '/unclaimed/upload', { 'content-length': '5000' }) + 'x'.repeat(100)])
      expect(answer.status).toBe(413)
      expect(errorOf(answer.body).code).toBe('FICUS_ERR_BODY_TOO_LARGE')
    })
    const chunk = (size: number): string => `${size.toString(16)}\r\n${'y'.repeat(size)}\r\n`
    const streamed = await rawExchange(
      port,
      [head('POST', '/unclaimed/upload', { 'transfer-encoding': 'chunked' }), chunk(600), chunk(600), chunk(600), '0\r\n\r\n'],
      { gapMs: 20 },
    )
    expect(streamed.status).toBe(413)
    expect(errorOf(streamed.body).code).toBe('FICUS_ERR_BODY_TOO_LARGE')
    // Whatever the upstream got, it never got a complete body past the limit.
    expect(legacy.requests.filter((request) => request.url === '/base/unclaimed/upload' && request.bodyLength > 1_024)).toEqual([])
  })

  it('a head dripped one byte at a time is closed within the deadline with 408', async () => {
    await nothingForwarded(async () => {
      const bytes = head('GET', '/policy/P-1/status', { 'x-slow': 'a'.repeat(40) }).split('')
      const answer = await rawExchange(port, bytes, { gapMs: 100, timeoutMs: 8_000 })
      expect(answer.status).toBe(408)
      expect(errorOf(answer.body).code).toBe('FICUS_ERR_REQUEST_TIMEOUT')
      expect(answer.ms).toBeLessThan(3_500)
    })
  })

  it('CONNECT gets 405 and a malformed request 400, both in the error shape', async () => {
    await nothingForwarded(async () => {
      const connectAnswer = await rawExchange(port, ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'])
      expect(connectAnswer.status).toBe(405)
      expect(errorOf(connectAnswer.body).code).toBe('FICUS_ERR_METHOD_NOT_ALLOWED')
      const malformed = await rawExchange(port, ['GET /policy/P-1/status HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n'])
      expect(malformed.status).toBe(400)
      expect(errorOf(malformed.body)).toMatchObject({ code: 'FICUS_ERR_BAD_REQUEST' })
      expect(malformed.headers['x-request-id']).toBeDefined()
      const smuggled = await rawExchange(port, ['POST /unclaimed/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'])
      expect(smuggled.status).toBe(400)
      expect(errorOf(smuggled.body).code).toBe('FICUS_ERR_BAD_REQUEST')
    })
  })
})

describe('framing a hostile client tries', () => {
  const framing: [string, string][] = [
    ['two different Content-Length values', 'POST /unclaimed/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'],
    ['Transfer-Encoding other than chunked last', 'POST /unclaimed/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
    ['a chunk size that is not hex', 'POST /unclaimed/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['a NUL in a header value', 'GET /policy/P-1/status HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
    ['a header folded onto the next line', 'GET /policy/P-1/status HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
    ['a space before the colon', 'GET /policy/P-1/status HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n'],
    ['a request line with a bare LF', 'GET /policy/P-1/status HTTP/1.1\nHost: x\r\n\r\n'],
    ['an unknown HTTP version', 'GET /policy/P-1/status HTTP/3.7\r\nHost: x\r\n\r\n'],
  ]
  it.each(framing)('%s: 400 in the error shape, nothing forwarded', async (_what, bytes) => {
    const before = legacy.requests.length + modern.requests.length
    const answer = await rawExchange(port, [bytes])
    expect(answer.status).toBe(400)
    expect(errorOf(answer.body).code).toBe('FICUS_ERR_BAD_REQUEST')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(legacy.requests.length + modern.requests.length).toBe(before)
  })
})

describe('what Node lets through and an upstream could read otherwise', () => {
  const refused: [string, string, number, string][] = [
    ['no Host on HTTP/1.1', 'GET /policy/P-1/status HTTP/1.1\r\nX-A: b\r\n\r\n', 400, 'FICUS_ERR_BAD_REQUEST'],
    ['two Host headers', 'GET /policy/P-1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n', 400, 'FICUS_ERR_BAD_REQUEST'],
    [
      'a transfer coding besides chunked',
      'POST /unclaimed/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      501,
      'FICUS_ERR_TRANSFER_CODING',
    ],
    ['HTTP/2.0 in a request line', 'GET /policy/P-1/status HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'FICUS_ERR_HTTP_VERSION'],
    ['an expectation other than 100-continue', 'GET /policy/P-1/status HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n', 417, 'FICUS_ERR_EXPECTATION_FAILED'],
    [`a URL far past the limit`, `GET /policy/${'u'.repeat(20_000)}/status HTTP/1.1\r\nHost: x\r\n\r\n`, 414, 'FICUS_ERR_URL_TOO_LONG'],
  ]
  it.each(refused)('%s: its status in the error shape with x-request-id, nothing forwarded', async (_what, bytes, status, code) => {
    const before = legacy.requests.length + modern.requests.length
    const answer = await rawExchange(port, [bytes])
    expect(answer.status).toBe(status)
    expect(errorOf(answer.body).code).toBe(code)
    expect(answer.headers['x-request-id']).toMatch(/./)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(legacy.requests.length + modern.requests.length).toBe(before)
  })

  it('a malformed escape gets its x-request-id header too', async () => {
    const answer = await rawExchange(port, [head('GET', '/policy/P%zz/status', { 'x-request-id': 'esc-1' })])
    expect(answer.status).toBe(400)
    expect(answer.headers['x-request-id']).toBe('esc-1')
  })

  it('bodies past the limit never count against the slice: 25 of them, then the slice still answers', async () => {
    const chunk = (size: number): string => `${size.toString(16)}\r\n${'z'.repeat(size)}\r\n`
    for (let i = 0; i < 25; i++) {
      const answer = await rawExchange(port, [head('POST', '/files/a', { 'transfer-encoding': 'chunked' }), chunk(1_000), chunk(100), '0\r\n\r\n'], {
        gapMs: 15,
      })
      expect(answer.status).toBe(413)
    }
    const after = await rawExchange(port, [head('GET', '/files/b', {})])
    expect(after.status).toBe(200)
  })
})
