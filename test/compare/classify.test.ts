import { describe, expect, it } from 'vitest'
import { classifyComparison, NoiseLearner } from '../../src/compare/classify.ts'
import { compareResponses, type CompareRules, type ResponseSnapshot } from '../../src/compare/compare-responses.ts'
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
  translate: { legacy: compileTranslation({ rename: { '/stat_cd': '/status', '/pol_no': '/policyNumber' }, values: { '/status': { ACTV: 'ACTIVE' } } }) },
}

function classify(legacy: ResponseSnapshot, modern: ResponseSnapshot, noisy: Set<string> = new Set()) {
  return classifyComparison(compareResponses(legacy, modern, rules), noisy)
}

describe('comparison and classification', () => {
  it('matches once legacy vocabulary is translated', () => {
    expect(classify(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(200, { policyNumber: 'P-1', status: 'ACTIVE', asOf: 'now' }))).toMatchObject({ category: 'match', outcome: 'agree', entries: [] })
  })

  it('calls a difference on a value the map does not know untranslated', () => {
    const result = classify(json(200, { pol_no: 'P-4', stat_cd: 'PNDC' }), json(200, { policyNumber: 'P-4', status: 'PENDING_CANCELLATION' }))
    expect(result).toMatchObject({ category: 'untranslated', outcome: 'disagree', entries: [{ path: '/body/status', kind: 'changed' }] })
  })

  it('calls a different value on a translated field a body mismatch, and a different status a status mismatch', () => {
    expect(classify(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(200, { policyNumber: 'P-2', status: 'ACTIVE' })).category).toBe('body-mismatch')
    expect(classify(json(200, { pol_no: 'P-1', stat_cd: 'ACTV' }), json(404, { title: 'Not Found' })).category).toBe('status-mismatch')
  })

  it('compares error answers by status only unless asked to', () => {
    expect(classify(json(404, { err_cd: 'E404' }), json(404, { title: 'Not Found' }, 'application/problem+json')).category).toBe('match')
    const strict = compareResponses(json(404, { err_cd: 'E404' }), json(404, { title: 'Not Found' }, 'application/problem+json'), { ...rules, errorBodies: true })
    expect(strict.entries.map((entry) => entry.path)).toEqual(['/headers/content-type', '/body/err_cd', '/body/title'])
  })

  it('puts differences on learned noisy paths down to noise', () => {
    const learner = new NoiseLearner()
    learner.learn('GET /p/:id', [{ path: '/body/generatedAt', kind: 'changed' }])
    const result = classify(json(200, { pol_no: 'P-1', stat_cd: 'ACTV', generatedAt: 'a' }), json(200, { policyNumber: 'P-1', status: 'ACTIVE', generatedAt: 'b' }), new Set(learner.noisy('GET /p/:id')))
    expect(result).toMatchObject({ category: 'noise', outcome: 'agree', entries: [], noisePaths: ['/body/generatedAt'] })
  })

  it('compares non-JSON bodies by hash with their content type', () => {
    const bytes = (sha256: string, contentType: string): ResponseSnapshot => ({ status: 200, headers: { 'content-type': contentType }, body: { kind: 'bytes', sha256 } })
    expect(classifyComparison(compareResponses(bytes('sha256:a', 'text/plain'), bytes('sha256:a', 'text/plain'), rules), new Set()).category).toBe('match')
    expect(compareResponses(bytes('sha256:a', 'text/plain'), bytes('sha256:b', 'text/csv'), rules).entries.map((e) => e.path)).toEqual(['/headers/content-type', '/body'])
  })
})
