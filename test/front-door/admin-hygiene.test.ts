import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { head, rawExchange } from '../helpers/raw-socket.ts'

// The admin port as a hostile web page sees it: DNS rebinding (a foreign Host on 127.0.0.1) and
// cross-site form or fetch posts (a foreign Origin).
let local: TestGateway
let localPort: number

beforeAll(async () => {
  local = await startTestGateway(sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9'))
  localPort = Number(new URL(local.adminUrl).port)
})
afterAll(async () => {
  await local.stop()
})

const FLIP = JSON.stringify({ authority: 'modern', reason: 'rebinding attack' })
const put = (host: string, fields: Record<string, string> = {}): string =>
  head('PUT', '/admin/slices/policy-status/authority', { 'content-type': 'application/json', 'content-length': String(FLIP.length), ...fields }).replace(
    'Host: 127.0.0.1',
    `Host: ${host}`,
  ) + FLIP
const get = (path: string, host: string): string => head('GET', path).replace('Host: 127.0.0.1', `Host: ${host}`)

async function authority(): Promise<string> {
  const view = (await (await fetch(`${local.adminUrl}/admin/slices`)).json()) as { slices: { id: string; authority: string }[] }
  return view.slices.find((slice) => slice.id === 'policy-status')!.authority
}

describe('admin port without a token (loopback only)', () => {
  it('refuses a rebinding Host with 421 in the documented shape, for reads and changes alike; the slice does not move', async () => {
    for (const request of [
      put(`attacker.example:${localPort}`),
      get('/admin/slices', 'attacker.example'),
      get('/metrics', `attacker.example:${localPort}`),
      get('/', 'attacker.example'),
    ]) {
      const answer = await rawExchange(localPort, [request])
      expect(answer.status).toBe(421)
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'FICUS_ERR_ADMIN_HOST_REJECTED' })
    }
    expect(await authority()).toBe('legacy')
  })

  it('answers its loopback names, and probes whatever the Host', async () => {
    for (const host of [`127.0.0.1:${localPort}`, `localhost:${localPort}`, `[::1]:${localPort}`, 'LOCALHOST']) {
      expect((await rawExchange(localPort, [get('/admin/slices', host)])).status).toBe(200)
    }
    expect((await rawExchange(localPort, [get('/healthz', 'attacker.example')])).status).toBe(200)
  })

  it('refuses a change from another origin (Origin or Sec-Fetch-Site) with 403, and takes the same origin and the CLI (no Origin)', async () => {
    const host = `127.0.0.1:${localPort}`
    const foreign: Record<string, string>[] = [
      { Origin: 'http://attacker.example' },
      { Origin: 'null' },
      { Origin: `http://127.0.0.1:${localPort + 1}` },
      { 'Sec-Fetch-Site': 'cross-site' },
    ]
    for (const fields of foreign) {
      const answer = await rawExchange(localPort, [put(host, fields)])
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'FICUS_ERR_ADMIN_CROSS_ORIGIN' })
    }
    expect(await authority()).toBe('legacy')
    const same = await rawExchange(localPort, [put(host, { Origin: `http://${host}`, 'Sec-Fetch-Site': 'same-origin' })])
    expect(same.status).toBe(200)
    expect(await authority()).toBe('modern')
    const cli = await rawExchange(localPort, [put(host).replace('"modern"', '"legacy"')])
    expect(cli.status).toBe(200)
    expect(await authority()).toBe('legacy')
  })

  it('takes an absolute-form target by its authority, and refuses two Hosts or none', async () => {
    const absolute = await rawExchange(localPort, [`GET http://attacker.example/admin/slices HTTP/1.1\r\nHost: 127.0.0.1:${localPort}\r\n\r\n`])
    expect(absolute.status).toBe(421)
    const twice = await rawExchange(localPort, [`GET /admin/slices HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: attacker.example\r\n\r\n`])
    expect(twice.status).toBe(400)
    const none = await rawExchange(localPort, ['GET /admin/slices HTTP/1.1\r\nX-A: b\r\n\r\n'])
    expect(none.status).toBe(421)
    expect(JSON.parse(none.body)).toMatchObject({ code: 'FICUS_ERR_ADMIN_HOST_REJECTED' })
  })

  it('reads Sec-Fetch-Site whatever its case, and a duplicated one as foreign', async () => {
    const host = `127.0.0.1:${localPort}`
    expect((await rawExchange(localPort, [put(host, { 'Sec-Fetch-Site': 'Cross-Site' })])).status).toBe(403)
    expect(
      (await rawExchange(localPort, [put(host).replace('\r\n\r\n', '\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site\r\n\r\n')])).status,
    ).toBe(403)
    expect(await authority()).toBe('legacy')
  })

  it('never logs a query string', async () => {
    await fetch(`${local.adminUrl}/admin/history?slice=policy-status&access_token=SECRET-QUERY-VALUE`)
    await fetch(`${local.adminUrl}/admin/history?limit=SECRET-QUERY-VALUE`)
    await fetch(`${local.adminUrl}/admin/history?slice=SECRET-QUERY-VALUE`)
    await fetch(`${local.adminUrl}/admin/noise-decisions?limit=SECRET-QUERY-VALUE`)
    await fetch(`${local.adminUrl}/admin/nowhere?access_token=SECRET-QUERY-VALUE`)
    const text = JSON.stringify(local.logs)
    expect(text).not.toContain('SECRET-QUERY-VALUE')
    expect(text).not.toContain('access_token')
    expect(local.logs.some((entry) => entry.msg === 'admin request' && entry.path === '/admin/history')).toBe(true)
  })
})

describe('admin port with a token', () => {
  it('answers the names in FICUS_ADMIN_HOSTS (and loopback) only, and logs neither token nor query', async () => {
    const gateway = await startTestGateway(sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9'), {
      env: { FICUS_ADMIN_TOKEN: 'T0KEN-SECRET-1234567890', FICUS_ADMIN_HOSTS: 'ficus-admin.internal, ops.example', ADMIN_HOST: '127.0.0.1' },
    })
    try {
      const port = Number(new URL(gateway.adminUrl).port)
      const auth = { Authorization: 'Bearer T0KEN-SECRET-1234567890' }
      const ask = (host: string) =>
        rawExchange(port, [head('GET', '/admin/slices?x=T0KEN-SECRET-1234567890', auth).replace('Host: 127.0.0.1', `Host: ${host}`)])
      expect((await ask('ficus-admin.internal:9090')).status).toBe(200)
      expect((await ask('OPS.example')).status).toBe(200)
      expect((await ask(`127.0.0.1:${port}`)).status).toBe(200)
      expect((await ask('attacker.example')).status).toBe(421)
      expect(JSON.stringify(gateway.logs)).not.toContain('T0KEN-SECRET')
    } finally {
      await gateway.stop()
    }
  })

  it('answers any name when FICUS_ADMIN_HOSTS is not set (the token guards it)', async () => {
    const gateway = await startTestGateway(sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9'), {
      env: { FICUS_ADMIN_TOKEN: 'T0KEN-SECRET-1234567890', ADMIN_HOST: '127.0.0.1' },
    })
    try {
      const port = Number(new URL(gateway.adminUrl).port)
      const answer = await rawExchange(port, [
        head('GET', '/admin/slices', { Authorization: 'Bearer T0KEN-SECRET-1234567890' }).replace('Host: 127.0.0.1', 'Host: gateway-7.cluster.local'),
      ])
      expect(answer.status).toBe(200)
    } finally {
      await gateway.stop()
    }
  })
})
