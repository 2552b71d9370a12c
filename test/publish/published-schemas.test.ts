import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { AuthorityChangedSchema } from '../../src/publish/authority-changed-schema.ts'
import { authorityChanged, triageActionEvent } from '../../src/publish/events.ts'
import { TriageActionSchema } from '../../src/publish/triage-action-schema.ts'
import { publishedSchema, schemaErrors } from '../helpers/json-schema.ts'

// Within v1 fields are only added (docs/events.md): a consumer validating with today's published
// schema must accept tomorrow's events. Ficus's own output is still checked strictly.

/** The example record of a doc: a comparison the example migration produced. */
function docExample(file: string): Record<string, unknown> {
  const block = /```json\n([\s\S]*?)\n```/.exec(readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8'))
  if (!block) throw new Error(`no JSON example in docs/${file}`)
  return JSON.parse(block[1]!) as Record<string, unknown>
}

type Json = Record<string, unknown> & { primary: Record<string, unknown>; diff: Record<string, unknown>[]; untranslated: Record<string, unknown>[] }
const comparison = (): Json => docExample('comparisons.md') as Json
const authorityEvent = (): Record<string, unknown> => ({
  ...authorityChanged(
    {
      sliceId: 'coverage-status',
      previous: 'legacy',
      authority: '25%',
      version: 1,
      updatedAt: '2026-11-23T10:41:07.215Z',
      actor: 'ana@platform',
      reason: 'parallel run at 99.8 %',
      instance: 'gw-1',
      changed: true,
    },
    'flip',
    'sha256:0b661527ca7e',
  ),
})

const triageEvent = (): Record<string, unknown> => ({
  ...triageActionEvent(
    {
      id: '0f8e1c52-3b7a-4d1e-9a64-2c5d8e7f1b30',
      signature: '3f9a1c0b7d2e4a65',
      action: 'accept',
      actor: 'ana@platform',
      reason: 'modern rounds to the cent on purpose',
      at: '2026-11-24T09:12:00.000Z',
      instance: 'gw-1',
      approver: 'product-owner',
      expiresAt: '2027-03-31',
    },
    { slice: 'coverage-status', route: 'GET /pas/v1/policy/:policyNumber/status', family: 'genuine-conflict' },
  ),
})

/** The comparison with a field added at every object level a later v1 could extend. */
function comparisonFromLater(): Json {
  const record = comparison()
  record.region = 'eu-west'
  record.primary.connectMs = 1.2
  record.diff[0]!.severity = 'minor'
  record.untranslated[0]!.knownSince = '2027-01-01'
  return record
}

const publishedComparison = publishedSchema('comparison.schema.json')
const publishedAuthorityChanged = publishedSchema('authority-changed.schema.json')
const publishedTriageAction = publishedSchema('triage-action.schema.json')

describe('the published schemas (docs/*.schema.json)', () => {
  it('accept the records Ficus writes today', () => {
    expect(schemaErrors(publishedComparison, comparison())).toEqual([])
    expect(schemaErrors(publishedAuthorityChanged, authorityEvent())).toEqual([])
    expect(schemaErrors(publishedTriageAction, triageEvent())).toEqual([])
  })

  it('accept a comparison carrying fields added later, at the top level and nested', () => {
    expect(schemaErrors(publishedComparison, comparisonFromLater())).toEqual([])
  })

  it('accept an authority change carrying a field added later', () => {
    expect(schemaErrors(publishedAuthorityChanged, { ...authorityEvent(), ticket: 'CHG-1234' })).toEqual([])
  })

  it('accept a triage action carrying a field, an action or a state added later', () => {
    expect(schemaErrors(publishedTriageAction, { ...triageEvent(), team: 'billing' })).toEqual([])
    expect(schemaErrors(publishedTriageAction, { ...triageEvent(), action: 'snooze', state: 'snoozed' })).toEqual([])
  })

  it('close no object to additional properties', () => {
    const closed: string[] = []
    const walk = (node: unknown, at: string): void => {
      if (node === null || typeof node !== 'object') return
      for (const [key, value] of Object.entries(node)) {
        if (key === 'additionalProperties' && value === false) closed.push(at || '/')
        walk(value, `${at}/${key}`)
      }
    }
    for (const file of ['comparison.schema.json', 'authority-changed.schema.json', 'triage-action.schema.json', 'shadow-skips.schema.json'])
      walk(JSON.parse(readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8')), file)
    expect(closed).toEqual([])
  })

  it('still reject a record missing a required field', () => {
    const { eventId: _eventId, ...withoutId } = comparison()
    expect(schemaErrors(publishedComparison, withoutId)).toContain('/eventId: Expected required property')
    const record = comparison()
    delete record.primary.status
    expect(schemaErrors(publishedComparison, record)).toContain('/primary/status: Expected required property')
    const { reason: _reason, ...withoutReason } = authorityEvent()
    expect(schemaErrors(publishedAuthorityChanged, withoutReason)).toContain('/reason: Expected required property')
    const { signature: _signature, ...withoutSignature } = triageEvent()
    expect(schemaErrors(publishedTriageAction, withoutSignature)).toContain('/signature: Expected required property')
    expect(schemaErrors(publishedTriageAction, { ...triageEvent(), rulesHash: 'md5:1' })).toContain(
      "/rulesHash: Expected string to match '^sha256:[0-9a-f]{16}$'",
    )
  })

  it('still reject a wrong type or value, also next to an added field', () => {
    const later = comparisonFromLater()
    expect(schemaErrors(publishedComparison, { ...later, flagVersion: '0' })).toContain('/flagVersion: Expected integer')
    later.primary.status = '200'
    later.diff[0]!.kind = 7
    const errors = schemaErrors(publishedComparison, later)
    expect(errors).toContain('/primary/status: Expected union value')
    expect(errors).toContain('/diff/0/kind: Expected string')
  })

  it('accept a value of an enumeration added later (a new family, category or diff kind), while Ficus’s own check does not', () => {
    const later = comparisonFromLater()
    later.family = 'intent-defect'
    later.category = 'intent-mismatch'
    later.diff[0]!.kind = 'moved'
    expect(schemaErrors(publishedComparison, later)).toEqual([])
    expect(schemaErrors(ComparisonSchema, { ...comparison(), family: 'intent-defect' }).length).toBeGreaterThan(0)
    expect(schemaErrors(publishedAuthorityChanged, { ...authorityEvent(), version: 0 })).toContain('/version: Expected integer to be greater or equal to 1')
  })
})

describe("Ficus's own check of what it writes", () => {
  it('rejects a field the schema does not define, at every level (a typo in a record Ficus builds)', () => {
    const errors = schemaErrors(ComparisonSchema, comparisonFromLater())
    for (const path of ['/region', '/primary/connectMs', '/diff/0/severity', '/untranslated/0/knownSince'])
      expect(errors).toContain(`${path}: Unexpected property`)
    expect(schemaErrors(AuthorityChangedSchema, { ...authorityEvent(), ticket: 'CHG-1234' })).toContain('/ticket: Unexpected property')
    expect(schemaErrors(TriageActionSchema, { ...triageEvent(), team: 'billing' })).toContain('/team: Unexpected property')
    expect(schemaErrors(TriageActionSchema, { ...triageEvent(), action: 'snooze' }).length).toBeGreaterThan(0)
  })

  it('accepts the records as they are', () => {
    expect(schemaErrors(ComparisonSchema, comparison())).toEqual([])
    expect(schemaErrors(AuthorityChangedSchema, authorityEvent())).toEqual([])
    expect(schemaErrors(TriageActionSchema, triageEvent())).toEqual([])
  })
})
