import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import type { FicusError } from '../../src/errors/errors.ts'
import { sampleConfig } from '../helpers/gateway.ts'

const LEGACY = 'http://127.0.0.1:4101'
const MODERN = 'http://127.0.0.1:4102'

function problems(input: unknown): string[] {
  try {
    validateConfig(input)
  } catch (err) {
    expect((err as FicusError).code).toBe('FICUS_ERR_CONFIG_INVALID')
    return ((err as FicusError).details.issues as { path: string; message: string }[]).map((issue) => `${issue.path}: ${issue.message}`)
  }
  throw new Error('expected the config to be rejected')
}

function withSlice(slice: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
  const base = sampleConfig(LEGACY, MODERN)
  return { ...base, ...top, slices: { 'policy-status': { ...base.slices['policy-status'], ...slice } } }
}

describe('capture config', () => {
  it('is off by default, and takes its defaults when given', () => {
    const plain = validateConfig(sampleConfig(LEGACY, MODERN))
    expect(plain.slices[0]?.capture).toBeNull()
    expect(plain.capture).toEqual({ store: 'data-dir' })
    const config = validateConfig(withSlice({ shadow: {}, capture: {} }))
    expect(config.slices[0]?.capture).toEqual({ sampleBasisPoints: 10_000, retentionHours: 72, maxBytes: 256 * 1024 * 1024 })
    const given = validateConfig(withSlice({ shadow: {}, capture: { percent: 12.5, retentionHours: 0.01, maxBytes: 4096 } }, { capture: { store: 'kafka' } }))
    expect(given.slices[0]?.capture).toEqual({ sampleBasisPoints: 1_250, retentionHours: 0.01, maxBytes: 4096 })
    expect(given.capture.store).toBe('kafka')
  })

  it('needs a shadow section, and names the slice and field of every bad value', () => {
    expect(problems(withSlice({ capture: {} }))).toEqual([
      'slices.policy-status.capture: needs a shadow section: only shadowed requests have two answers to capture',
    ])
    const found = problems(withSlice({ shadow: {}, capture: { percent: 0, retentionHours: 721, maxBytes: 0 } })).join('\n')
    expect(found).toContain('slices.policy-status.capture.percent')
    expect(found).toContain('slices.policy-status.capture.retentionHours')
    expect(found).toContain('slices.policy-status.capture.maxBytes')
    expect(problems(withSlice({ shadow: {}, capture: { percent: 101 } })).join('\n')).toContain('slices.policy-status.capture.percent')
    expect(problems(withSlice({ shadow: {}, capture: { retentionHours: 0 } })).join('\n')).toContain('slices.policy-status.capture.retentionHours')
    expect(problems(withSlice({ shadow: {}, capture: { keep: 1 } })).join('\n')).toContain('slices.policy-status.capture.keep')
    expect(problems(withSlice({ shadow: {} }, { capture: { store: 's3' } })).join('\n')).toContain('capture.store')
  })
})
