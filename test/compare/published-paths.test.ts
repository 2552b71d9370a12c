import { describe, expect, it } from 'vitest'
import type { CompareRules, ResponseSnapshot } from '../../src/compare/compare-responses.ts'
import { publishableDiff, saltedBodyHash, type ValuePolicy } from '../../src/compare/comparison.ts'
import { judgePair } from '../../src/compare/judge-pair.ts'
import { compileModelRules } from '../../src/compare/model-rules.ts'
import { NoiseEvidence, nodePaths } from '../../src/compare/noise-evidence.ts'
import { HASHED_KEY, hashedKey, PublishedPaths } from '../../src/compare/published-paths.ts'
import { compileTranslation } from '../../src/compare/translate.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { sampleConfig } from '../helpers/gateway.ts'

const SALT = 'test-salt'
const NAME = 'Aurelia Quimby-Hart'
const h = (key: string): string => hashedKey(SALT, key)

describe('object keys from data are published hashed', () => {
  const paths = new PublishedPaths({ named: ['byHolder', 'claims', 'status', 'items'], clear: ['/body/limits/*'] }, SALT)
  const body = { byHolder: { [NAME]: { claims: 2 } }, items: [{ status: 'A' }], accounts: { '12345': 1 }, limits: { GOLD: 1 } }

  it('keeps keys the config names, array indexes, /status and /headers; hashes the others', () => {
    expect(paths.path(`/body/byHolder/${NAME}/claims`, [body])).toBe(`/body/byHolder/${h(NAME)}/claims`)
    expect(paths.path('/body/items/0/status', [body])).toBe('/body/items/0/status')
    expect(paths.path('/status', [body])).toBe('/status')
    expect(paths.path('/headers/x-holder', [body])).toBe('/headers/x-holder')
    expect(paths.path('/body', [body])).toBe('/body')
  })

  it('hashes an all-digit key of an object (an account number), not only names', () => {
    expect(paths.path('/body/accounts/12345', [body])).toBe(`/body/${h('accounts')}/${h('12345')}`)
    // Without a body to tell, a digit segment counts as a key: hashed, the safe side.
    expect(paths.path('/body/items/7', [])).toBe(`/body/items/${h('7')}`)
  })

  it('publishes keys a clearKeys pattern spells out, `*` included, and their path up to it', () => {
    expect(paths.path('/body/limits/GOLD', [body])).toBe('/body/limits/GOLD')
    expect(paths.path('/body/limits/GOLD/cap', [body])).toBe(`/body/limits/GOLD/${h('cap')}`)
  })

  it('is stable for one key and one salt (counts add up), different under another salt, and escapes nothing it should not', () => {
    expect(h(NAME)).toMatch(HASHED_KEY)
    expect(h(NAME)).toBe(hashedKey(SALT, NAME))
    expect(hashedKey('other-salt', NAME)).not.toBe(h(NAME))
    expect(paths.path('/body/a~1b', [{ 'a/b': 1 }])).toBe(`/body/${h('a/b')}`)
  })

  it('covered paths of the noise evidence hash keys exactly as diff paths do', () => {
    const covered = nodePaths([], body, undefined, (segments, at) => paths.key(segments, at))
    expect(covered).toContain(`/body/byHolder/${h(NAME)}/claims`)
    expect(covered).toContain('/body/items/*/status')
    expect(covered).toContain('/body/limits/GOLD')
    expect([...covered].join('\n')).not.toContain(NAME)
  })
})

describe('the declared shape of a slice', () => {
  it('is every key its compare, translate and model rules name (the JSON Schema included), plus clearKeys patterns', () => {
    const input = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    input.slices['policy-status']!.translate = {
      version: '1',
      legacy: { rename: { '/pol_no': '/policyNumber' }, values: { '/stat': { A: 'ACTIVE' } }, set: { '/premium': { currency: 'AUD' } } },
    }
    input.slices['policy-status']!.compare = {
      ignore: ['/asOf'],
      unorderedArrays: [{ path: '/claims', key: 'claimNumber' }],
      critical: ['/decision'],
      clearKeys: ['/limits/*'],
      clearUntranslated: ['/stat'],
      model: { required: ['/holder/*/since'], schema: { type: 'object', properties: { cover: { type: 'object', required: ['start'] } } } },
    }
    const { keys, values } = validateConfig(input).slices[0]!.compare
    expect(keys.named).toEqual([
      'asOf',
      'claimNumber',
      'claims',
      'cover',
      'currency',
      'decision',
      'holder',
      'limits',
      'pol_no',
      'policyNumber',
      'premium',
      'since',
      'start',
      'stat',
    ])
    expect(keys.clear).toEqual(['/body/limits/*'])
    expect(values.clearUntranslated).toEqual(['/body/stat'])
  })

  it('names nothing for a slice that declares nothing: every body key is hashed', () => {
    expect(validateConfig(sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')).slices[0]!.compare.keys).toEqual({ named: [], clear: [] })
  })

  it('does not change the rules hash: what is published in clear changes no verdict', () => {
    const plain = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    const clear = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    clear.slices['policy-status']!.compare = { clearKeys: ['/*'], clearUntranslated: ['/status'] }
    expect(validateConfig(clear).slices[0]!.compare.rulesHash).toBe(validateConfig(plain).slices[0]!.compare.rulesHash)
  })

  it('refuses clearKeys and clearUntranslated entries that are not JSON pointers, naming the field', () => {
    const input = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    input.slices['policy-status']!.compare = { clearKeys: ['limits/*'], clearUntranslated: ['status'] }
    expect(() => validateConfig(input)).toThrow(/slices\.policy-status\.compare\.clearKeys[\s\S]*slices\.policy-status\.compare\.clearUntranslated/)
  })
})

describe('judging with published paths', () => {
  const json = (value: unknown): ResponseSnapshot => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: { kind: 'json', value: value as never },
  })
  const rules: CompareRules = {
    headers: ['content-type'],
    diff: {},
    errorBodies: false,
    translate: { legacy: compileTranslation({ values: { '/byHolder/*/status': { ACTV: 'ACTIVE' } } }) },
    model: compileModelRules({ ranges: { '/byHolder/*/premium': { min: 0 } } }),
  }
  const paths = new PublishedPaths({ named: ['byHolder', 'status', 'premium'], clear: [] }, SALT)
  const at = (tail: string): string => `/body/byHolder/${h(NAME)}/${tail}`

  it('classifies on the hashed paths as on the clear ones: untranslated, rule violations, noise', () => {
    const untranslated = judgePair(
      json({ byHolder: { [NAME]: { status: 'PNDC' } } }),
      json({ byHolder: { [NAME]: { status: 'PENDING' } } }),
      rules,
      new Set(),
      paths,
    )
    expect(untranslated).toMatchObject({ category: 'untranslated', untranslated: [{ path: at('status'), value: 'PNDC' }], entries: [{ path: at('status') }] })

    const violation = judgePair(json({ byHolder: { [NAME]: { premium: -1 } } }), json({ byHolder: { [NAME]: { premium: 1 } } }), rules, new Set(), paths)
    expect(violation).toMatchObject({ category: 'rule-violation', cause: `range ${at('premium')}`, violations: [{ path: at('premium') }] })

    const noise = judgePair(
      json({ byHolder: { [NAME]: { premium: 2 } } }),
      json({ byHolder: { [NAME]: { premium: 1 } } }),
      rules,
      new Set([at('premium')]),
      paths,
    )
    expect(noise).toMatchObject({ category: 'noise', noiseEntries: [{ path: at('premium') }] })
    expect(
      JSON.stringify(
        [untranslated, violation, noise].map(({ entries, noiseEntries, untranslated: values, violations }) => ({
          entries: entries.map((e) => e.path),
          noiseEntries: noiseEntries.map((e) => e.path),
          values: values.map((v) => v.path),
          violations,
        })),
      ),
    ).not.toContain(NAME)
  })

  it('noise evidence learns a hashed path and masks it in the next judgement', () => {
    const noise = new NoiseEvidence({ minSelfDifferences: 2, minRatio: 0.5, windowMs: 60_000, ttlMs: 60_000 })
    const key = (segments: readonly string[], i: number): string => paths.key(segments, i)
    for (const t of [1, 2]) noise.record('GET /x', nodePaths([], { byHolder: { [NAME]: { premium: t } } }, undefined, key), [at('premium')], t)
    const judged = judgePair(
      json({ byHolder: { [NAME]: { premium: 2 } } }),
      json({ byHolder: { [NAME]: { premium: 1 } } }),
      rules,
      noise.noisy('GET /x', 3),
      paths,
    )
    expect(judged.category).toBe('noise')
  })
})

describe('values and bodies as published', () => {
  const policy: ValuePolicy = { include: false, redact: ['/body/secret'], clearUntranslated: ['/body/status', '/body/secret'], salt: SALT }
  const items = [
    { path: '/body/status', value: 'PNDC', rule: 'values' as const },
    { path: '/body/holderCode', value: NAME, rule: 'values' as const },
    { path: '/body/secret', value: 'X', rule: 'values' as const },
  ]

  it('hashes untranslated values unless their path is allowed in clear (and not redacted)', () => {
    const { untranslated } = publishableDiff([], items, policy)
    expect(untranslated[0]).toEqual({ path: '/body/status', rule: 'values', value: 'PNDC' })
    expect(untranslated[1]).toEqual({ path: '/body/holderCode', rule: 'values', valueHash: expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/) as string })
    expect(untranslated[2]).not.toHaveProperty('value')
    // A slice that publishes its values (compare.values.include) publishes its untranslated ones too.
    expect(publishableDiff([], items, { ...policy, include: true }).untranslated[1]).toMatchObject({ value: NAME })
  })

  it('hashes bodies with the salt: equal within one salt, not the plain SHA-256 anyone could recompute', () => {
    const sha = `sha256:${'ab'.repeat(32)}`
    expect(saltedBodyHash(SALT, sha)).toMatch(/^hmac-sha256:[0-9a-f]{32}$/)
    expect(saltedBodyHash(SALT, sha)).toBe(saltedBodyHash(SALT, sha))
    expect(saltedBodyHash('other-salt', sha)).not.toBe(saltedBodyHash(SALT, sha))
  })
})
