import { describe, expect, it } from 'vitest'
import type { CompareRules, ResponseSnapshot } from '../../src/compare/compare-responses.ts'
import { judgePair } from '../../src/compare/judge-pair.ts'
import { compileModelRules } from '../../src/compare/model-rules.ts'
import { compileTranslation } from '../../src/compare/translate.ts'

const json = (status: number, value: unknown, contentType = 'application/json; charset=utf-8'): ResponseSnapshot => ({
  status,
  headers: { 'content-type': contentType },
  body: { kind: 'json', value: value as never },
})

const rules: CompareRules = {
  headers: ['content-type'],
  diff: { ignore: ['/asOf'] },
  errorBodies: false,
  translate: {
    legacy: compileTranslation({
      rename: { '/stat_cd': '/status', '/pol_no': '/policyNumber', '/prem': '/premium' },
      values: { '/status': { ACTV: 'ACTIVE' } },
      coerce: { '/premium': 'number' },
    }),
  },
  model: compileModelRules({ required: ['/policyNumber'], ranges: { '/premium': { min: 0 } }, values: { '/status': ['ACTIVE', 'LAPSED'] } }),
}

const judge = (legacy: ResponseSnapshot, modern: ResponseSnapshot, noisy: Set<string> = new Set()) => judgePair(legacy, modern, rules, noisy)

describe('judging a pair of answers', () => {
  it('matches once legacy vocabulary is translated', () => {
    expect(
      judge(json(200, { pol_no: 'P-1', stat_cd: 'ACTV', prem: '12.50' }), json(200, { policyNumber: 'P-1', status: 'ACTIVE', premium: 12.5, asOf: 'now' })),
    ).toMatchObject({
      category: 'match',
      family: 'match',
      outcome: 'agree',
      entries: [],
      violations: [],
    })
  })

  it('calls a difference on a value the translation could not carry over a translation defect (an unmapped code, a failed coercion)', () => {
    const unmapped = judge(
      json(200, { pol_no: 'P-4', stat_cd: 'PNDC', prem: '1' }),
      json(200, { policyNumber: 'P-4', status: 'PENDING_CANCELLATION', premium: 1 }),
    )
    expect(unmapped).toMatchObject({
      category: 'untranslated',
      family: 'translation-defect',
      outcome: 'disagree',
      entries: [{ path: '/body/status', kind: 'changed' }],
    })
    const coercion = judge(json(200, { pol_no: 'P-4', stat_cd: 'ACTV', prem: 'twelve' }), json(200, { policyNumber: 'P-4', status: 'ACTIVE', premium: 12 }))
    expect(coercion.family).toBe('translation-defect')
  })

  it('tells a source-data defect (the legacy value breaks the new model) from a genuine conflict', () => {
    const negative = judge(json(200, { pol_no: 'P-7', stat_cd: 'ACTV', prem: '-12.00' }), json(200, { policyNumber: 'P-7', status: 'ACTIVE', premium: 0 }))
    expect(negative).toMatchObject({
      category: 'rule-violation',
      family: 'source-data-defect',
      cause: 'range /body/premium',
      violations: [{ path: '/body/premium', rule: 'range' }],
    })
    // The detail never carries the value.
    expect(JSON.stringify(negative.violations)).not.toContain('-12')
    const missing = judge(json(200, { stat_cd: 'ACTV', prem: '1' }), json(200, { policyNumber: 'P-8', status: 'ACTIVE', premium: 1 }))
    expect(missing).toMatchObject({ family: 'source-data-defect', cause: 'required /body/policyNumber' })
    // A rule broken on another path does not excuse a difference here: that is a conflict.
    const elsewhere = judge(json(200, { pol_no: 'P-7', stat_cd: 'ACTV', prem: '-1' }), json(200, { policyNumber: 'P-9', status: 'ACTIVE', premium: -1 }))
    expect(elsewhere).toMatchObject({ category: 'body-mismatch', family: 'genuine-conflict' })
  })

  it('calls a different value a body mismatch and a different status a status mismatch: genuine conflicts', () => {
    expect(judge(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(200, { policyNumber: 'P-2', status: 'ACTIVE' }))).toMatchObject({
      category: 'body-mismatch',
      family: 'genuine-conflict',
    })
    expect(judge(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(404, { title: 'Not Found' }))).toMatchObject({
      category: 'status-mismatch',
      family: 'genuine-conflict',
    })
  })

  it('compares error answers by status only unless asked to', () => {
    expect(judge(json(404, { err_cd: 'E404' }), json(404, { title: 'Not Found' }, 'application/problem+json')).category).toBe('match')
  })

  it('puts differences on noisy paths down to noise, keeps them, and never /status or a critical path', () => {
    const result = judge(
      json(200, { pol_no: 'P-1', stat_cd: 'ACTV', generatedAt: 'a' }),
      json(200, { policyNumber: 'P-1', status: 'ACTIVE', generatedAt: 'b' }),
      new Set(['/body/generatedAt', '/status']),
    )
    expect(result).toMatchObject({ category: 'noise', family: 'noise', outcome: 'agree', entries: [], noiseEntries: [{ path: '/body/generatedAt' }] })
    const status = judge(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(404, {}), new Set(['/status']))
    expect(status.family).toBe('genuine-conflict')
  })

  it('does not compare what it cannot read: over the cap, undecodable, unreadable media — unless the statuses differ', () => {
    const opaque = (reason: string): ResponseSnapshot => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { kind: 'opaque', sha256: 'sha256:x', reason },
    })
    expect(judge(opaque('over-capture-cap'), json(200, { policyNumber: 'P-1' }))).toMatchObject({
      category: 'not-compared',
      family: 'not-compared',
      outcome: 'not-compared',
      cause: 'over-capture-cap',
    })
    expect(judge(json(200, {}), opaque('content-encoding zstd'))).toMatchObject({ family: 'not-compared', cause: 'content-encoding zstd' })
    const bytes = (sha256: string, contentType: string): ResponseSnapshot => ({
      status: 200,
      headers: { 'content-type': contentType },
      body: { kind: 'bytes', sha256 },
    })
    expect(judge(bytes('sha256:a', 'application/xml'), bytes('sha256:a', 'application/xml')).category).toBe('match')
    expect(judge(bytes('sha256:a', 'application/xml'), json(200, { policyNumber: 'P-1' }))).toMatchObject({
      family: 'not-compared',
      cause: 'media application/xml',
    })
    expect(judge({ ...opaque('over-capture-cap'), status: 500 }, json(200, {}))).toMatchObject({ family: 'genuine-conflict', category: 'status-mismatch' })
  })
})
