// `npm run schemas`: writes docs/comparison.schema.json from src/compare/comparison-schema.ts.
// test/compare/comparison-schema.test.ts fails when the two differ.
import { writeFile } from 'node:fs/promises'
import { comparisonSchemaDocument } from '../src/compare/comparison-schema.ts'

await writeFile(new URL('../docs/comparison.schema.json', import.meta.url), comparisonSchemaDocument())
