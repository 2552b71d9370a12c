import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { CircuitBreakers, CountedFailure, UncountedError } from '../../src/upstream/circuit-breakers.ts'

function breakers(breaker: Record<string, unknown> = {}): CircuitBreakers {
  const config = validateConfig({
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: {
      legacy: { url: 'http://127.0.0.1:1', breaker: { primary: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 5_000, ...breaker }, shadow: { enabled: false } } },
      modern: { url: 'http://127.0.0.1:2' },
    },
    slices: {},
  })
  return new CircuitBreakers(config.upstreams)
}

const fail = (): Promise<never> => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
const serverError = (): Promise<never> => Promise.reject(new CountedFailure({ status: 503 }, '503'))
const ok = (): Promise<{ status: number }> => Promise.resolve({ status: 200 })

let subject: CircuitBreakers
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  subject.shutdown()
  vi.useRealTimers()
})

describe('circuit breakers', () => {
  it('open after failures past the volume threshold, fail fast, and close after the reset window', async () => {
    subject = breakers()
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', fail)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('legacy', 'primary')).toBe('open')
    const action = vi.fn(ok)
    await expect(subject.call('legacy', 'primary', action)).rejects.toMatchObject({ code: 'EOPENBREAKER' })
    expect(action).not.toHaveBeenCalled()

    vi.advanceTimersByTime(5_000)
    expect(subject.state('legacy', 'primary')).toBe('half-open')
    await expect(subject.call('legacy', 'primary', ok)).resolves.toEqual({ status: 200 })
    expect(subject.state('legacy', 'primary')).toBe('closed')
  })

  it('count 5xx answers as failures but still return them', async () => {
    subject = breakers()
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', serverError)).resolves.toEqual({ status: 503 })
    expect(subject.state('legacy', 'primary')).toBe('open')
  })

  it('do not count 4xx answers or calls the client abandoned', async () => {
    subject = breakers()
    for (let i = 0; i < 10; i++) await subject.call('legacy', 'primary', () => Promise.resolve({ status: 404 }))
    for (let i = 0; i < 10; i++) await expect(subject.call('legacy', 'primary', () => Promise.reject(new UncountedError(new Error('aborted'))))).rejects.toThrow('aborted')
    expect(subject.state('legacy', 'primary')).toBe('closed')
  })

  it('are configured apart per traffic: a disabled breaker never opens', async () => {
    subject = breakers()
    for (let i = 0; i < 10; i++) await expect(subject.call('legacy', 'shadow', fail)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('legacy', 'shadow')).toBe('disabled')
    expect(subject.state('legacy', 'primary')).toBe('closed')
    expect(subject.state('modern', 'shadow', 'any-slice')).toBe('closed')
  })

  it('keep one shadow breaker per slice: one slice failing never opens another’s', async () => {
    subject = breakers()
    for (let i = 0; i < 10; i++) await expect(subject.call('modern', 'shadow', fail, 'failing')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('modern', 'shadow', 'failing')).toBe('open')
    expect(subject.state('modern', 'shadow', 'healthy')).toBe('closed')
    await expect(subject.call('modern', 'shadow', ok, 'healthy')).resolves.toEqual({ status: 200 })
    await expect(subject.call('modern', 'shadow', ok, 'failing')).rejects.toMatchObject({ code: 'EOPENBREAKER' })
    expect(subject.states()).toEqual(
      expect.arrayContaining([
        { upstream: 'modern', traffic: 'shadow', slice: 'failing', state: 'open' },
        { upstream: 'modern', traffic: 'shadow', slice: 'healthy', state: 'closed' },
        { upstream: 'legacy', traffic: 'primary', slice: '', state: 'closed' },
      ]),
    )
  })

  it('stay closed below the error threshold', async () => {
    subject = breakers({ errorThresholdPercentage: 60 })
    for (let i = 0; i < 10; i++) await subject.call('legacy', 'primary', i % 2 === 0 ? ok : () => fail().catch(() => ({ status: 0 })))
    for (let i = 0; i < 3; i++) await expect(subject.call('legacy', 'primary', fail)).rejects.toThrow()
    expect(subject.state('legacy', 'primary')).toBe('closed')
  })
})
