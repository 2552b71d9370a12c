import { readFileSync } from 'node:fs'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { comparisonSchemaDocument, ComparisonSchema } from '../../src/compare/comparison-schema.ts'

describe('Comparison JSON Schema', () => {
  it('docs/comparison.schema.json is the schema the code defines (run `npm run schemas` after a change)', () => {
    expect(readFileSync(new URL('../../docs/comparison.schema.json', import.meta.url), 'utf8')).toBe(comparisonSchemaDocument())
  })

  it('rejects an incomplete record', () => {
    expect(Value.Check(ComparisonSchema, { schemaVersion: 1 })).toBe(false)
  })
})
