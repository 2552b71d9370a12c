import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { CircuitBreakers, CountedFailure, UncountedError } from '../../src/upstream/circuit-breakers.ts'

function breakers(breaker: Record<string, unknown> = {}): CircuitBreakers {
  const config = validateConfig({
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: {
      legacy: {
        url: 'http://127.0.0.1:1',
        breaker: { primary: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 5_000, ...breaker }, shadow: { enabled: false } },
      },
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
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', fail, 's')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('legacy', 'primary', 's')).toBe('open')
    const action = vi.fn(ok)
    await expect(subject.call('legacy', 'primary', action, 's')).rejects.toMatchObject({ code: 'EOPENBREAKER' })
    expect(action).not.toHaveBeenCalled()

    vi.advanceTimersByTime(5_000)
    expect(subject.state('legacy', 'primary', 's')).toBe('half-open')
    await expect(subject.call('legacy', 'primary', ok, 's')).resolves.toEqual({ status: 200 })
    expect(subject.state('legacy', 'primary', 's')).toBe('closed')
  })

  it('say whether a call would be refused without trying one: open, or half-open with its trial under way', async () => {
    subject = breakers()
    expect(subject.refuses('legacy', 'primary', 's')).toBe(false)
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', fail, 's')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.refuses('legacy', 'primary', 's')).toBe(true)
    expect(subject.refuses('legacy', 'primary', 'other-slice')).toBe(false)
    vi.advanceTimersByTime(5_000)
    // Half-open: the next call is the trial, so it is not refused …
    expect(subject.refuses('legacy', 'primary', 's')).toBe(false)
    let answer!: (value: { status: number }) => void
    const trial = subject.call('legacy', 'primary', () => new Promise<{ status: number }>((resolve) => (answer = resolve)), 's')
    // … and while it is under way every other call is.
    expect(subject.refuses('legacy', 'primary', 's')).toBe(true)
    answer({ status: 200 })
    await trial
    expect(subject.refuses('legacy', 'primary', 's')).toBe(false)
    // A disabled breaker refuses nothing.
    expect(subject.refuses('legacy', 'shadow', 's')).toBe(false)
  })

  it('count 5xx answers as failures but still return them', async () => {
    subject = breakers()
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', serverError, 's')).resolves.toEqual({ status: 503 })
    expect(subject.state('legacy', 'primary', 's')).toBe('open')
  })

  it('do not count 4xx answers or calls the client abandoned', async () => {
    subject = breakers()
    for (let i = 0; i < 10; i++) await subject.call('legacy', 'primary', () => Promise.resolve({ status: 404 }), 's')
    for (let i = 0; i < 10; i++)
      await expect(subject.call('legacy', 'primary', () => Promise.reject(new UncountedError(new Error('aborted'))), 's')).rejects.toThrow('aborted')
    expect(subject.state('legacy', 'primary', 's')).toBe('closed')
  })

  it('are configured apart per traffic: a disabled breaker never opens', async () => {
    subject = breakers()
    for (let i = 0; i < 10; i++) await expect(subject.call('legacy', 'shadow', fail, 's')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('legacy', 'shadow', 's')).toBe('disabled')
    expect(subject.state('legacy', 'primary', 's')).toBe('closed')
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
      ]),
    )
  })

  it('are per slice for client traffic too, count 5xx only where configured, and guard no fallthrough request', async () => {
    subject = breakers()
    for (let i = 0; i < 4; i++) await expect(subject.call('legacy', 'primary', fail, 'broken')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(subject.state('legacy', 'primary', 'broken')).toBe('open')
    expect(subject.state('legacy', 'primary', 'fine')).toBe('closed')
    await expect(subject.call('legacy', 'primary', ok, 'fine')).resolves.toEqual({ status: 200 })
    // Fallthrough (no slice): no breaker at all, whatever fails.
    for (let i = 0; i < 10; i++) await expect(subject.call('legacy', 'primary', fail, null)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await expect(subject.call('legacy', 'primary', ok, null)).resolves.toEqual({ status: 200 })
    expect(subject.countsServerErrors('legacy', 'primary')).toBe(false)
    expect(subject.countsServerErrors('modern', 'shadow')).toBe(true)
    expect(breakers({ countServerErrors: true }).countsServerErrors('legacy', 'primary')).toBe(true)
  })

  it('stay closed below the error threshold', async () => {
    subject = breakers({ errorThresholdPercentage: 60 })
    for (let i = 0; i < 10; i++) await subject.call('legacy', 'primary', i % 2 === 0 ? ok : () => fail().catch(() => ({ status: 0 })), 's')
    for (let i = 0; i < 3; i++) await expect(subject.call('legacy', 'primary', fail, 's')).rejects.toThrow()
    expect(subject.state('legacy', 'primary', 's')).toBe('closed')
  })
})
