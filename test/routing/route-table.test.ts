import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { RouteTable } from '../../src/routing/route-table.ts'

const config = validateConfig({
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
  slices: {
    'coverage-status': {
      description: 'd',
      authority: 'legacy',
      routes: [
        { method: 'GET', path: '/policies/:policyId/status' },
        { method: 'HEAD', path: '/policies/:policyId/summary' },
      ],
    },
    'policy-search': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policies/search/status' }] },
    'document-access': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/documents/*' }] },
    'claim-lodgement': {
      description: 'd',
      authority: 'legacy',
      routes: [
        { method: 'POST', path: '/claims' },
        { method: 'GET', path: '/' },
      ],
    },
  },
})
const table = new RouteTable(config)

function slice(method: string, path: string): string | undefined {
  return table.match(method, path)?.slice.id
}

describe('route table', () => {
  it('matches method and path template and extracts parameters', () => {
    const match = table.match('GET', '/policies/P-1001/status')
    expect(match?.slice.id).toBe('coverage-status')
    expect(match?.params).toEqual({ policyId: 'P-1001' })
    expect(match?.route.path.source).toBe('/policies/:policyId/status')
  })

  it('prefers a literal segment over a parameter', () => {
    expect(slice('GET', '/policies/search/status')).toBe('policy-search')
    expect(slice('GET', '/policies/other/status')).toBe('coverage-status')
  })

  it('does not match another method, a longer or shorter path, or a trailing slash', () => {
    expect(slice('POST', '/policies/P-1/status')).toBeUndefined()
    expect(slice('GET', '/policies/P-1/status/extra')).toBeUndefined()
    expect(slice('GET', '/policies/P-1')).toBeUndefined()
    expect(slice('GET', '/policies/P-1/status/')).toBeUndefined()
  })

  it('answers HEAD with a GET route unless a HEAD route exists', () => {
    expect(slice('HEAD', '/policies/P-1/status')).toBe('coverage-status')
    expect(slice('HEAD', '/policies/P-1/summary')).toBe('coverage-status')
    expect(slice('GET', '/policies/P-1/summary')).toBeUndefined()
  })

  it('keeps parameter values percent-encoded as received', () => {
    expect(table.match('GET', '/policies/P%201/status')?.params).toEqual({ policyId: 'P%201' })
  })

  it('never lets a parameter carry a dot segment or an encoded slash', () => {
    for (const value of ['..', '.', '%2e%2e', '%2E.', 'a%2Fb', 'a%2fb', 'a%5Cb', '%zz', '']) {
      expect(slice('GET', `/policies/${value}/status`), value).toBeUndefined()
    }
  })

  it('matches a trailing wildcard with the rest of the path', () => {
    expect(table.match('GET', '/documents/2026/11/policy.pdf')?.params).toEqual({ '*': '2026/11/policy.pdf' })
    expect(slice('GET', '/documents/a/../../etc')).toBeUndefined()
    expect(slice('GET', '/documents')).toBeUndefined()
  })

  it('matches the root path and plain literal routes', () => {
    expect(slice('GET', '/')).toBe('claim-lodgement')
    expect(slice('POST', '/claims')).toBe('claim-lodgement')
  })
})
