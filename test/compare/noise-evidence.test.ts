import { describe, expect, it } from 'vitest'
import { generalise, NoiseEvidence, nodePaths, type NoiseSettings } from '../../src/compare/noise-evidence.ts'

const SETTINGS: NoiseSettings = { minSelfDifferences: 3, minRatio: 0.5, windowMs: 60 * 60_000, ttlMs: 24 * 60 * 60_000 }
const ROUTE = 'GET /p/:id'
const T0 = Date.parse('2026-11-29T00:00:00Z')
const covered = nodePaths(['content-type'], { status: 'ACTIVE', asOf: 'x', items: [{ at: 1 }, { at: 2 }] })

describe('noise is a judgement on repeated evidence', () => {
  it('one self-difference does not make a path noise; repeated ones in most double-asks do', () => {
    const noise = new NoiseEvidence(SETTINGS)
    noise.record(ROUTE, covered, ['/body/status'], T0)
    for (let i = 1; i <= 30; i++) noise.record(ROUTE, covered, [], T0 + i * 1_000)
    expect(noise.noisy(ROUTE, T0 + 31_000).has('/body/status')).toBe(false)
    for (let i = 0; i < 5; i++) noise.record(ROUTE, covered, ['/body/asOf'], T0 + 40_000 + i)
    expect([...noise.noisy(ROUTE, T0 + 50_000)]).toEqual(['/body/asOf'])
    const listed = noise.list(T0 + 50_000).find((entry) => entry.path === '/body/asOf')
    expect(listed).toMatchObject({ state: 'learned', selfDifferences: 5, doubleAsks: 5, ratio: 1 })
    // Every double-ask covered /body/status: 36 in all, one of them a self-difference.
    expect(noise.list(T0 + 50_000).find((entry) => entry.path === '/body/status')).toMatchObject({ state: 'watching', selfDifferences: 1, doubleAsks: 36 })
  })

  it('a path that differs in too small a share of the double-asks covering it stays a real difference', () => {
    const noise = new NoiseEvidence(SETTINGS)
    for (let i = 0; i < 40; i++) noise.record(ROUTE, covered, i % 10 === 0 ? ['/body/status'] : [], T0 + i * 1_000)
    expect(noise.noisy(ROUTE, T0 + 41_000).size).toBe(0)
  })

  it('learned noise expires unless the evidence confirms it again', () => {
    const noise = new NoiseEvidence(SETTINGS)
    for (let i = 0; i < 3; i++) noise.record(ROUTE, covered, ['/body/asOf'], T0 + i)
    expect(noise.noisy(ROUTE, T0 + 1_000).has('/body/asOf')).toBe(true)
    expect(noise.noisy(ROUTE, T0 + SETTINGS.ttlMs + 10).has('/body/asOf')).toBe(false)
    expect(noise.list(T0 + SETTINGS.ttlMs + 10)).toEqual([])
  })

  it('never learns /status or a critical path, and generalises array indexes', () => {
    const noise = new NoiseEvidence(SETTINGS, ['/body/status'])
    for (let i = 0; i < 5; i++) noise.record(ROUTE, covered, ['/status', '/body/status', '/body/items/1/at'], T0 + i)
    expect([...noise.noisy(ROUTE, T0 + 10)]).toEqual(['/body/items/*/at'])
    expect(generalise('/body/items/12/at')).toBe('/body/items/*/at')
  })

  it('an operator confirms a path (noise until cleared) or rejects one (never noise until cleared)', () => {
    const noise = new NoiseEvidence(SETTINGS)
    for (let i = 0; i < 3; i++) noise.record(ROUTE, covered, ['/body/asOf'], T0 + i)
    const decision = { actor: 'ana', reason: 'asOf is a generation time', at: new Date(T0).toISOString() }
    noise.decide(ROUTE, '/body/asOf', { decision: 'reject', ...decision })
    expect(noise.noisy(ROUTE, T0 + 10).size).toBe(0)
    expect(noise.list(T0 + 10)[0]).toMatchObject({ path: '/body/asOf', state: 'rejected', decision: { decision: 'reject', actor: 'ana' } })
    noise.decide(ROUTE, '/body/items/*/at', { decision: 'confirm', ...decision })
    expect([...noise.noisy(ROUTE, T0 + SETTINGS.ttlMs * 3)]).toEqual(['/body/items/*/at'])
    noise.decide(ROUTE, '/body/asOf', null)
    expect(noise.noisy(ROUTE, T0 + 10).has('/body/asOf')).toBe(true)
  })
})
