import { describe, expect, it } from 'vitest'
import { compileTranslation, dateParser } from '../../src/compare/translate.ts'

describe('translation rules', () => {
  it('renames and moves fields, including into new nested objects', () => {
    const translate = compileTranslation({ rename: { '/pol_no': '/policyNumber', '/holder/name': '/policyholder/fullName' } })
    expect(translate({ pol_no: 'P-1', holder: { name: 'Ada' } }).body).toEqual({ policyNumber: 'P-1', holder: {}, policyholder: { fullName: 'Ada' } })
  })

  it('swaps two fields without losing either', () => {
    const translate = compileTranslation({ rename: { '/a': '/b', '/b': '/a' } })
    expect(translate({ a: 1, b: 2 }).body).toEqual({ a: 2, b: 1 })
  })

  it('maps values and reports the ones the map does not know, with their path', () => {
    const translate = compileTranslation({
      rename: { '/stat_cd': '/status' },
      values: { '/status': { ACTV: 'ACTIVE', SUSP: 'SUSPENDED' }, '/items/*/flag': { Y: true, N: false } },
    })
    expect(translate({ stat_cd: 'ACTV', items: [{ flag: 'Y' }, { flag: 'N' }] })).toEqual({
      body: { status: 'ACTIVE', items: [{ flag: true }, { flag: false }] },
      untranslated: [],
    })
    expect(translate({ stat_cd: 'PNDC', items: [{ flag: 'X' }] })).toEqual({
      body: { status: 'PNDC', items: [{ flag: 'X' }] },
      untranslated: [
        { path: '/status', value: 'PNDC', rule: 'values' },
        { path: '/items/0/flag', value: 'X', rule: 'values' },
      ],
    })
  })

  it('lets null through value maps and coercions', () => {
    const translate = compileTranslation({ values: { '/reason': { LAPSED: 'POLICY_LAPSED' } }, coerce: { '/amount': 'number' } })
    expect(translate({ reason: null, amount: null })).toEqual({ body: { reason: null, amount: null }, untranslated: [] })
  })

  it('coerces string amounts to numbers, dates to ISO, and reports what does not convert', () => {
    const translate = compileTranslation({
      coerce: { '/amount': 'number', '/start': 'date:YYYYMMDD', '/at': 'date:DD/MM/YYYY HH:mm:ss', '/ok': 'boolean', '/code': 'string' },
    })
    expect(translate({ amount: '123.40', start: '20250101', at: '31/12/2025 23:59:01', ok: 'Y', code: 42 }).body).toEqual({
      amount: 123.4,
      start: '2025-01-01',
      at: '2025-12-31T23:59:01',
      ok: true,
      code: '42',
    })
    expect(translate({ amount: '12,30', start: '2025-01-01' }).untranslated).toEqual([
      { path: '/amount', value: '12,30', rule: 'coerce' },
      { path: '/start', value: '2025-01-01', rule: 'coerce' },
    ])
  })

  it('sets constants and removes fields', () => {
    const translate = compileTranslation({ set: { '/premium/currency': 'AUD' }, remove: ['/generated_at'] })
    expect(translate({ premium: { amount: 1 }, generated_at: 'x' }).body).toEqual({ premium: { amount: 1, currency: 'AUD' } })
  })

  it('runs the escape hatch last, on the translated body, and reports it when it throws', () => {
    const translate = compileTranslation({
      rename: { '/elig_flg': '/eligible' },
      fn: (body) => ({ ...(body as Record<string, never>), eligible: (body as { eligible: string }).eligible === 'Y' }),
    })
    expect(translate({ elig_flg: 'Y' }).body).toEqual({ eligible: true })
    const failing = compileTranslation({
      fn: () => {
        throw new Error('boom')
      },
    })
    expect(failing({ a: 1 })).toEqual({ body: { a: 1 }, untranslated: [{ path: '', value: 'translate function failed: boom', rule: 'fn' }] })
  })

  it('never modifies its input', () => {
    const input = { pol_no: 'P-1', stat_cd: 'ACTV' }
    compileTranslation({ rename: { '/pol_no': '/policyNumber' }, values: { '/stat_cd': { ACTV: 'ACTIVE' } } })(input)
    expect(input).toEqual({ pol_no: 'P-1', stat_cd: 'ACTV' })
  })

  it('parses date formats strictly', () => {
    expect(dateParser('YYYYMMDD')('20251301')).toBeUndefined()
    expect(dateParser('YYYY-MM-DD')('2025-02-03')).toBe('2025-02-03')
    expect(() => dateParser('MM/DD')).toThrow(/needs YYYY, MM and DD/)
  })
})
