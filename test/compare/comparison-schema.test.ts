import { readFileSync } from 'node:fs'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { comparisonSchemaDocument, ComparisonSchema } from '../../src/compare/comparison-schema.ts'
import { authorityChangedSchemaDocument } from '../../src/publish/authority-changed-schema.ts'
import { triageActionSchemaDocument } from '../../src/publish/triage-action-schema.ts'
import { shadowSkipsSchemaDocument, ShadowSkipsSchema } from '../../src/publish/shadow-skips-schema.ts'
import { shadowSkips } from '../../src/publish/shadow-skips.ts'

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

  it('docs/shadow-skips.schema.json is the schema the code defines, and the events Ficus makes pass it', () => {
    expect(readFileSync(new URL('../../docs/shadow-skips.schema.json', import.meta.url), 'utf8')).toBe(shadowSkipsSchemaDocument())
    const event = shadowSkips(
      { id: 'policy-status', rulesHash: 'sha256:0123456789abcdef' },
      { 'sampled-out': 9, 'queue-full': 1 },
      { start: new Date('2026-12-07T10:00:00Z'), end: new Date('2026-12-07T10:00:10Z') },
      { instance: 'gw-1', configVersion: 'v1' },
    )
    expect(event.total).toBe(10)
    expect(Value.Check(ShadowSkipsSchema, event)).toBe(true)
    expect(Value.Check(ShadowSkipsSchema, { ...event, counts: { 'no-such-cause': 1 } })).toBe(false)
  })

  it('rejects an incomplete record', () => {
    expect(Value.Check(ComparisonSchema, { schemaVersion: 1 })).toBe(false)
  })
})
