import { describe, expect, it } from 'vitest'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

describe('discrepancy signatures', () => {
  it('groups differences by slice, route, family and paths with array indexes generalised, in any order', () => {
    const a = signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/items/0/price', '/body/total'] }))
    const b = signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/total', '/body/items/7/price', '/body/items/3/price'] }))
    expect(a).toMatchObject({ family: 'genuine-conflict', paths: ['/body/items/*/price', '/body/total'], value: null })
    expect(b?.id).toBe(a?.id)
    expect(a?.id).toMatch(/^[0-9a-f]{16}$/)
  })

  it('tells apart routes, slices, families and paths', () => {
    const base = signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/total'] }))?.id
    expect(signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/total'], route: 'GET /other' }))?.id).not.toBe(base)
    expect(signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/total'], slice: 'billing' }))?.id).not.toBe(base)
    expect(signatureOf(comparison({ category: 'body-mismatch', diffPaths: ['/body/sum'] }))?.id).not.toBe(base)
    expect(signatureOf(comparison({ category: 'status-mismatch', diffPaths: ['/status'] }))).toMatchObject({ family: 'genuine-conflict', paths: ['/status'] })
  })

  it('keys a translation defect by the value that has no translation', () => {
    const pndc = signatureOf(comparison({ category: 'untranslated', untranslated: [{ path: '/body/status', value: 'PNDC' }] }))
    const susp = signatureOf(comparison({ category: 'untranslated', untranslated: [{ path: '/body/status', value: 'SUSP' }] }))
    expect(pndc).toMatchObject({ family: 'translation-defect', paths: ['/body/status'], value: '"PNDC"' })
    expect(susp?.id).not.toBe(pndc?.id)
  })

  it('keys a source-data defect by the rule broken and where', () => {
    const range = signatureOf(comparison({ category: 'rule-violation', violations: [{ path: '/body/premium/amount', rule: 'range' }] }))
    expect(range).toMatchObject({ family: 'source-data-defect', paths: ['/body/premium/amount (range)'] })
  })

  it('keeps nothing that agrees or was never compared', () => {
    for (const category of ['match', 'noise', 'timing-lag', 'not-compared', 'shadow-error', 'shadow-skipped', 'primary-error'] as const) {
      expect(signatureOf(comparison({ category })), category).toBeUndefined()
    }
  })
})

describe('an accepted signature covers only the difference that was accepted', () => {
  it('a conflict on a further path is not the accepted 20-path signature', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `/body/a${String(i).padStart(2, '0')}`)
    const accepted = signatureOf(comparison({ category: 'body-mismatch', diffPaths: twenty }))!
    const worse = signatureOf(comparison({ category: 'body-mismatch', diffPaths: [...twenty, '/body/premium'] }))!
    expect(worse.id).not.toBe(accepted.id)
  })
  it('a translation defect with a second, different untranslated value is not the accepted one', () => {
    const accepted = signatureOf(
      comparison({
        category: 'untranslated',
        untranslated: [
          { path: '/body/a', value: 'X' },
          { path: '/body/b', value: 'Y' },
        ],
      }),
    )!
    const other = signatureOf(
      comparison({
        category: 'untranslated',
        untranslated: [
          { path: '/body/a', value: 'X' },
          { path: '/body/b', value: 'Z' },
        ],
      }),
    )!
    expect(other.id).not.toBe(accepted.id)
  })
})
