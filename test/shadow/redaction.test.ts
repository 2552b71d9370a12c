import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { comparisonOf, readComparisons } from '../helpers/comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

function answering(prefix: string) {
  return startUpstream(prefix, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `session=${prefix}-COOKIE`, 'x-build': `${prefix}-BUILD` })
    response.end(JSON.stringify({ id: 'P-1', plain: `${prefix}-PLAIN`, secret: `${prefix}-SECRET`, nested: { ssn: `${prefix}-SSN` } }))
  })
}

let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway

beforeAll(async () => {
  legacy = await answering('LEGACY')
  modern = await answering('MODERN')
  const config = sampleConfig(legacy.url, modern.url)
  config.slices['policy-status']!.shadow = {}
  // Keys in clear (clearKeys), so the values policy is seen on readable paths.
  config.slices['policy-status']!.compare = {
    headers: ['content-type', 'set-cookie', 'x-build'],
    values: { include: true, redact: ['/secret', '/nested/*'] },
    clearKeys: ['/*', '/nested/*'],
  }
  config.slices['hidden-values'] = {
    description: 'not opted in',
    authority: 'legacy',
    routes: [{ method: 'GET', path: '/hidden/:id' }],
    shadow: {},
    compare: { headers: ['x-build'] },
  }
  gateway = await startTestGateway(config)
})
afterAll(async () => {
  await gateway.stop()
  await legacy.close()
  await modern.close()
})

describe('values in published comparisons', () => {
  it('are published only where the slice opted in, never under redact paths or for cookies and credentials', async () => {
    await send(`${gateway.url}/policy/P-1/status`, { headers: { 'x-request-id': 'red-1', authorization: 'Bearer CLIENT-TOKEN', cookie: 'c=CLIENT-COOKIE' } })
    const record = await comparisonOf(gateway.dataDir, 'red-1')
    expect(record.diff.find((entry) => entry.path === '/body/plain')).toMatchObject({ legacy: 'LEGACY-PLAIN', modern: 'MODERN-PLAIN' })
    expect(record.diff.find((entry) => entry.path === '/headers/x-build')).toMatchObject({ legacy: 'LEGACY-BUILD', modern: 'MODERN-BUILD' })
    for (const path of ['/body/secret', '/body/nested/ssn', '/headers/set-cookie']) {
      const entry = record.diff.find((candidate) => candidate.path === path)
      expect(entry, path).toBeDefined()
      expect(entry).not.toHaveProperty('legacy')
      expect(entry?.legacyHash).toMatch(/^hmac-sha256:/)
    }
  })

  it('are never published for a slice that did not opt in: paths, kinds and salted hashes only', async () => {
    await send(`${gateway.url}/hidden/P-1`, { headers: { 'x-request-id': 'red-2' } })
    const record = await comparisonOf(gateway.dataDir, 'red-2')
    // The slice names none of its body's keys: they are published hashed too (header names are config).
    const hashed = /^#[0-9a-f]{16}$/
    const paths = record.diff.map((entry) => entry.path)
    expect(paths.filter((path) => path.startsWith('/headers/'))).toEqual(['/headers/x-build'])
    const body = paths.filter((path) => path.startsWith('/body/')).map((path) => path.split('/').slice(2))
    expect(body.map((segments) => segments.length).sort()).toEqual([1, 1, 2])
    for (const segment of body.flat()) expect(segment).toMatch(hashed)
    for (const entry of record.diff) expect(Object.keys(entry).sort()).toEqual(['kind', 'legacyHash', 'modernHash', 'path'])
  })

  it('leaves no redacted or non-opted value anywhere in the JSONL', async () => {
    await comparisonOf(gateway.dataDir, 'red-2')
    const { text } = await readComparisons(gateway.dataDir)
    for (const secret of ['SECRET', 'SSN', 'COOKIE', 'CLIENT-TOKEN']) expect(text).not.toContain(secret)
    // The hidden slice's values appear nowhere, while the opted-in slice's plain values do (once).
    expect(text.match(/LEGACY-PLAIN/g)).toHaveLength(1)
    expect(text.match(/LEGACY-BUILD/g)).toHaveLength(1)
  })
})
