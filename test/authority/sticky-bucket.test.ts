import { describe, expect, it } from 'vitest'
import { bucketOf, chooseSide } from '../../src/authority/sticky-bucket.ts'
import { parseAuthority, type Authority } from '../../src/model/authority-value.ts'

const KEYS = Array.from({ length: 10_000 }, (_, i) => `customer-${i}`)

function modernKeys(authority: Authority): Set<string> {
  return new Set(KEYS.filter((key) => chooseSide('coverage-status', authority, () => key) === 'modern'))
}

describe('authority values', () => {
  it('accepts legacy, modern and percentages in 0.01 steps, canonicalised', () => {
    expect(parseAuthority('legacy')).toEqual({ ok: true, authority: 'legacy', modernBasisPoints: 0 })
    expect(parseAuthority('modern')).toEqual({ ok: true, authority: 'modern', modernBasisPoints: 10_000 })
    expect(parseAuthority('25%')).toEqual({ ok: true, authority: '25%', modernBasisPoints: 2_500 })
    expect(parseAuthority('25.50%')).toEqual({ ok: true, authority: '25.5%', modernBasisPoints: 2_550 })
    expect(parseAuthority('0.01%')).toEqual({ ok: true, authority: '0.01%', modernBasisPoints: 1 })
    expect(parseAuthority('100%')).toEqual({ ok: true, authority: '100%', modernBasisPoints: 10_000 })
  })

  it('refuses anything else with one clear message', () => {
    for (const value of ['Modern', '101%', '25', '-1%', '0.001%', '25 %x', '', null, 25, { percent: 25 }]) {
      const parsed = parseAuthority(value)
      expect(parsed.ok, JSON.stringify(value)).toBe(false)
      if (!parsed.ok) expect(parsed.error).toMatch(/^must be "legacy", "modern" or a percentage of modern traffic from "0%" to "100%" in steps of 0\.01 \(got /)
    }
  })
})

describe('sticky bucketing', () => {
  it('puts the same key on the same side every time, for 10 000 keys', () => {
    const first = KEYS.map((key) => chooseSide('coverage-status', '37%', () => key))
    const second = KEYS.map((key) => chooseSide('coverage-status', '37%', () => key))
    expect(second).toEqual(first)
    expect(bucketOf('coverage-status', 'customer-42')).toBe(bucketOf('coverage-status', 'customer-42'))
  })

  it('only ever moves keys from legacy to modern as the percentage grows', () => {
    let previous = modernKeys('0%')
    expect(previous.size).toBe(0)
    for (let percent = 5; percent <= 100; percent += 5) {
      const current = modernKeys(`${percent}%`)
      for (const key of previous) expect(current.has(key), `${key} went back to legacy at ${percent}%`).toBe(true)
      previous = current
    }
    expect(previous.size).toBe(KEYS.length)
  })

  it('sends a share of keys within a tight tolerance of the setting', () => {
    for (const percent of [1, 10, 25, 50, 75, 99]) {
      const share = (modernKeys(`${percent}%`).size / KEYS.length) * 100
      // 10 000 keys: three standard deviations of a binomial share are at most 1.5 points.
      expect(Math.abs(share - percent), `${percent}% gave ${share.toFixed(2)}%`).toBeLessThan(1.5)
    }
  })

  it('honours 0.01 % steps', () => {
    const keys = Array.from({ length: 200_000 }, (_, i) => `k${i}`)
    const count = (authority: Authority): number => keys.filter((key) => chooseSide('s', authority, () => key) === 'modern').length
    const at1 = count('0.01%')
    const at2 = count('0.02%')
    expect(at1).toBeGreaterThan(5) // expected 20
    expect(at1).toBeLessThan(40)
    expect(at2).toBeGreaterThan(at1)
  })

  it('buckets the same customer independently in different slices', () => {
    const inCoverage = modernKeys('50%')
    const inBilling = new Set(KEYS.filter((key) => chooseSide('billing-eligibility', '50%', () => key) === 'modern'))
    const both = [...inCoverage].filter((key) => inBilling.has(key)).length
    expect(both / KEYS.length).toBeGreaterThan(0.2)
    expect(both / KEYS.length).toBeLessThan(0.3)
  })

  it('never asks for a key when the slice is wholly on one side', () => {
    const key = (): string => {
      throw new Error('key requested')
    }
    expect(chooseSide('s', 'legacy', key)).toBe('legacy')
    expect(chooseSide('s', 'modern', key)).toBe('modern')
  })
})
