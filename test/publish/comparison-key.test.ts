import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { comparisonKey } from '../../src/publish/open-sinks.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { sampleConfig } from '../helpers/gateway.ts'

// Issue 19: one slice's comparisons must be able to spread over partitions (and reporters).
function config() {
  const input = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
  input.slices['billing-eligibility'] = { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/b/:id' }], entityKey: { param: 'id' } }
  input.slices['claims'] = { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/c/:id' }], eventKey: 'slice' }
  input.slices['quotes'] = {
    description: 'd',
    authority: 'legacy',
    routes: [{ method: 'GET', path: '/q/:id' }],
    entityKey: { param: 'id' },
    eventKey: 'request',
  }
  return validateConfig(input)
}

describe('the message key of comparison events', () => {
  it('defaults to the entity key where a slice names one and to the request id otherwise; slice keying stays available', () => {
    const resolved = config()
    expect(Object.fromEntries(resolved.slices.map((slice) => [slice.id, slice.eventKey]))).toEqual({
      'policy-status': 'request',
      'billing-eligibility': 'entity',
      claims: 'slice',
      quotes: 'request',
    })
    const key = comparisonKey(resolved)
    const entity = { ...comparison({ slice: 'billing-eligibility', requestId: 'r-1' }), entityKey: 'B-1' }
    expect(key(entity)).toBe('B-1')
    // A request of an entity slice that names no entity is keyed by its request id, not by the slice.
    expect(key(comparison({ slice: 'billing-eligibility', requestId: 'r-2' }))).toBe('r-2')
    expect(key(comparison({ slice: 'policy-status', requestId: 'r-3' }))).toBe('r-3')
    expect(key(comparison({ slice: 'claims', requestId: 'r-4' }))).toBe('claims')
    expect(key({ ...comparison({ slice: 'quotes', requestId: 'r-5' }), entityKey: 'Q-1' })).toBe('r-5')
    // A slice the config no longer has: by request.
    expect(key(comparison({ slice: 'gone', requestId: 'r-6' }))).toBe('r-6')
  })

  it('spreads one slice over many keys by default', () => {
    const key = comparisonKey(config())
    const keys = new Set(Array.from({ length: 50 }, (_, i) => key(comparison({ slice: 'policy-status', requestId: `req-${i}` }))))
    expect(keys.size).toBe(50)
  })

  it('still refuses an explicit entity key on a slice that names no entity, and says what to use', () => {
    const input = sampleConfig('http://127.0.0.1:9', 'http://127.0.0.1:9')
    input.slices['policy-status']!.eventKey = 'entity'
    expect(() => validateConfig(input)).toThrow('slices.policy-status.eventKey: "entity" needs the slice to declare an entityKey (or use "request")')
  })
})
