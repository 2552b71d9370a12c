// `npm run schemas`: writes the event JSON Schemas under docs/ from their TypeBox definitions, in
// their published rendering (open to properties added later; src/compare/published-schema.ts).
// test/compare/comparison-schema.test.ts fails when a document differs from its definition.
import { writeFile } from 'node:fs/promises'
import { comparisonSchemaDocument } from '../src/compare/comparison-schema.ts'
import { authorityChangedSchemaDocument } from '../src/publish/authority-changed-schema.ts'
import { shadowSkipsSchemaDocument } from '../src/publish/shadow-skips-schema.ts'
import { triageActionSchemaDocument } from '../src/publish/triage-action-schema.ts'

await writeFile(new URL('../docs/comparison.schema.json', import.meta.url), comparisonSchemaDocument())
await writeFile(new URL('../docs/authority-changed.schema.json', import.meta.url), authorityChangedSchemaDocument())
await writeFile(new URL('../docs/triage-action.schema.json', import.meta.url), triageActionSchemaDocument())
await writeFile(new URL('../docs/shadow-skips.schema.json', import.meta.url), shadowSkipsSchemaDocument())
