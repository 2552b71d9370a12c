import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UpstreamInput } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'

// A private CA (openssl), an https upstream whose certificate names only `legacy.internal`, and a
// client certificate for mutual TLS. Nothing is trusted process-wide: each upstream has its own.
let dir: string
const file = (name: string): string => join(dir, name)

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** A key and a certificate signed by the test CA, with the given extensions. */
async function issue(name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(file(`${name}.ext`), extensions)
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  )
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  )
}

interface TlsUpstream {
  readonly port: number
  /** The subject CN of the client certificate of each request, or null without one. */
  readonly clients: (string | null)[]
  close(): Promise<void>
}

async function startTlsUpstream(options: { requireClientCert?: boolean; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<TlsUpstream> {
  const clients: (string | null)[] = []
  const server: Server = createServer(
    {
      key: await readFile(file('server.key')),
      cert: await readFile(file('server.crt')),
      ca: await readFile(file('ca.crt')),
      requestCert: options.requireClientCert === true,
      rejectUnauthorized: options.requireClientCert === true,
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    },
    (request, response) => {
      const peer = request.socket instanceof TLSSocket ? request.socket.getPeerCertificate() : undefined
      clients.push(peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : null)
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{"policy":"P-1","status":"in-force"}')
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    clients,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

let plain: TlsUpstream
let mutual: TlsUpstream
let oldTls: TlsUpstream

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-tls-'))
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=Ficus Test CA',
    '-days',
    '2',
  )
  await issue('server', '/CN=legacy.internal', 'subjectAltName=DNS:legacy.internal\nextendedKeyUsage=serverAuth\n')
  await issue('client', '/CN=ficus-gateway', 'extendedKeyUsage=clientAuth\n')
  plain = await startTlsUpstream()
  mutual = await startTlsUpstream({ requireClientCert: true })
  oldTls = await startTlsUpstream({ maxVersion: 'TLSv1.2' })
}, 60_000)
afterAll(async () => {
  await plain.close()
  await mutual.close()
  await oldTls.close()
  await rm(dir, { recursive: true, force: true })
})

/** One request through a gateway whose legacy upstream is `upstream`; the status and error code. */
async function through(upstream: UpstreamInput): Promise<{ status: number; code?: string; message?: string; warnings: string[] }> {
  const config = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
  config.upstreams['legacy'] = upstream
  const gateway = await startTestGateway(config)
  try {
    const response = await fetch(`${gateway.url}/policy/P-1/status`)
    const body = (await response.json()) as { code?: string; message?: string }
    const warnings = gateway.logs.filter((entry) => entry.level === 40).map((entry) => String(entry.msg))
    return { status: response.status, ...(body.code === undefined ? {} : { code: body.code, message: body.message ?? '' }), warnings }
  } finally {
    await gateway.stop()
  }
}

describe('upstream TLS, per upstream', () => {
  it('trusts a private CA given to that upstream, checking the name given as servername', async () => {
    const result = await through({ url: `https://127.0.0.1:${plain.port}`, tls: { caFile: file('ca.crt'), servername: 'legacy.internal' } })
    expect(result).toMatchObject({ status: 200 })
  })

  it('refuses the same upstream without the CA (502): certificate checks are on by default', async () => {
    const untrusted = await through({ url: `https://127.0.0.1:${plain.port}`, tls: { servername: 'legacy.internal' } })
    expect(untrusted).toMatchObject({ status: 502, code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE' })
    expect(untrusted.message).toMatch(
      /^TLS with upstream "legacy" failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)/,
    )
    expect(await through({ url: `https://127.0.0.1:${plain.port}` })).toMatchObject({ status: 502 })
  })

  it('refuses a certificate for another name (502)', async () => {
    const misnamed = await through({ url: `https://127.0.0.1:${plain.port}`, tls: { caFile: file('ca.crt') } })
    expect(misnamed).toMatchObject({ status: 502 })
    expect(misnamed.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID')
  })

  it('presents a client certificate for mutual TLS, and fails without one', async () => {
    const ok = await through({
      url: `https://127.0.0.1:${mutual.port}`,
      tls: { caFile: file('ca.crt'), servername: 'legacy.internal', certFile: file('client.crt'), keyFile: file('client.key') },
    })
    expect(ok.status).toBe(200)
    expect(mutual.clients.at(-1)).toBe('ficus-gateway')
    expect((await through({ url: `https://127.0.0.1:${mutual.port}`, tls: { caFile: file('ca.crt'), servername: 'legacy.internal' } })).status).toBe(502)
  })

  it('holds a minimum version: TLSv1.3 refuses an upstream that stops at 1.2', async () => {
    const tls = { caFile: file('ca.crt'), servername: 'legacy.internal' }
    expect((await through({ url: `https://127.0.0.1:${oldTls.port}`, tls })).status).toBe(200)
    expect((await through({ url: `https://127.0.0.1:${oldTls.port}`, tls: { ...tls, minVersion: 'TLSv1.3' } })).status).toBe(502)
  })

  it('turns checks off only by insecureSkipVerify, and the start log says so', async () => {
    const result = await through({ url: `https://127.0.0.1:${plain.port}`, tls: { insecureSkipVerify: true } })
    expect(result.status).toBe(200)
    expect(result.warnings.some((message) => message.includes('TLS certificate checks are OFF'))).toBe(true)
    expect(
      (await through({ url: `https://127.0.0.1:${plain.port}`, tls: { caFile: file('ca.crt'), servername: 'legacy.internal' } })).warnings.join(),
    ).not.toContain('TLS')
  })

  it('names every problem of a TLS section at its path', () => {
    const config = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
    config.upstreams['legacy'] = { url: 'http://127.0.0.1:9', tls: { caFile: join(dir, 'missing.pem'), certFile: file('client.crt') } }
    expect(() => validateConfig(config)).toThrow(/upstreams\.legacy\.tls: is only for https upstreams/)
    expect(() => validateConfig(config)).toThrow(/upstreams\.legacy\.tls: certFile and keyFile go together/)
    expect(() => validateConfig(config)).toThrow(/upstreams\.legacy\.tls\.caFile: cannot be read: ENOENT/)
  })
})
