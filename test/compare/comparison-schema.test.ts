import { readFileSync } from 'node:fs'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { comparisonSchemaDocument, ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { authorityChangedSchemaDocument } from '../../src/publish/authority-changed-schema.ts'
import { triageActionSchemaDocument } from '../../src/publish/triage-action-schema.ts'

describe('event JSON Schemas', () => {
  it('docs/comparison.schema.json is the schema the code defines (run `npm run schemas` after a change)', () => {
    expect(readFileSync(new URL('../../docs/comparison.schema.json', import.meta.url), 'utf8')).toBe(comparisonSchemaDocument())
  })

  it('docs/authority-changed.schema.json is the schema the code defines', () => {
    expect(readFileSync(new URL('../../docs/authority-changed.schema.json', import.meta.url), 'utf8')).toBe(authorityChangedSchemaDocument())
  })

  it('docs/triage-action.schema.json is the schema the code defines', () => {
    expect(readFileSync(new URL('../../docs/triage-action.schema.json', import.meta.url), 'utf8')).toBe(triageActionSchemaDocument())
  })

  it('rejects an incomplete record', () => {
    expect(Value.Check(ComparisonSchema, { schemaVersion: 1 })).toBe(false)
  })
})
