import { describe, expect, it } from 'vitest'
import { forRegister } from '../../src/app/worker-stores.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { FileDiscrepancyRegister } from '../../src/register/file-discrepancy-register.ts'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { comparison } from '../helpers/generated-comparisons.ts'

// With `ficus start --workers`, the other workers send worker 1's embedded register what it reads of
// a differing comparison, not the published values of its diff.
describe('a differing comparison relayed to worker 1', () => {
  const conflict = (): Comparison => {
    const base = comparison({ category: 'body-mismatch', diffPaths: ['/body/status', '/body/claims/3/amount'], requestId: 'r-1' })
    return {
      ...base,
      entityKey: 'P-1',
      diff: base.diff.map((entry) => ({ ...entry, legacy: 'x'.repeat(200), modern: 'y'.repeat(200) })),
      noiseDiff: [{ path: '/body/at', kind: 'changed', legacy: 'a', modern: 'b' }],
    }
  }
  const translationDefect = (): Comparison => comparison({ category: 'untranslated', untranslated: [{ path: '/body/stat', value: 'ACTV' }] })

  it('keeps its signature and drops the values', () => {
    for (const whole of [conflict(), translationDefect()]) {
      const relayed = forRegister(whole)
      expect(signatureOf(relayed)).toEqual(signatureOf(whole))
      expect(JSON.stringify(relayed)).not.toContain('xxxx')
      expect(relayed.noiseDiff).toEqual([])
      expect(relayed.untranslated).toEqual(whole.untranslated)
    }
  })

  it('is registered as the whole record would be', async () => {
    const logger = createLogger({ level: 'silent' })
    const registers = [0, 1].map(() => new FileDiscrepancyRegister({ file: '/nonexistent/never-written.json', logger, readOnly: true }))
    const [whole, relayed] = registers as [FileDiscrepancyRegister, FileDiscrepancyRegister]
    for (const record of [conflict(), conflict(), translationDefect()]) {
      whole.record(record)
      relayed.record(forRegister(record))
    }
    const listed = await whole.list({ limit: 10 })
    expect(listed.map((entry) => entry.count).sort()).toEqual([1, 2])
    expect(await relayed.list({ limit: 10 })).toEqual(listed)
  })
})
