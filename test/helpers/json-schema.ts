import { readFileSync } from 'node:fs'
import { Kind, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
// Registers the uuid and date-time formats with TypeBox's checker.
import '../../src/compare/comparison-schema.ts'

// TypeBox's Value checks a schema by its Kind symbol, which a parsed JSON document lacks. This
// gives each node of a published document the Kind its keywords describe, so that Value checks
// the file as a consumer's JSON Schema validator would. Keywords TypeBox would not check are
// refused rather than ignored: a document using them needs a real validator, not this helper.
const KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  Object: ['type', 'properties', 'required', 'additionalProperties'],
  Array: ['type', 'items'],
  String: ['type', 'pattern', 'format'],
  Integer: ['type', 'minimum', 'maximum'],
  Number: ['type', 'minimum', 'maximum'],
  Boolean: ['type'],
  Null: ['type'],
  Literal: ['const', 'type'],
  Union: ['anyOf'],
  Unknown: [],
}
const ANNOTATIONS = ['$schema', '$id', 'title', 'description']
const KIND_OF_TYPE: Readonly<Record<string, string>> = {
  object: 'Object',
  array: 'Array',
  string: 'String',
  integer: 'Integer',
  number: 'Number',
  boolean: 'Boolean',
  null: 'Null',
}

function kindOf(node: Record<string, unknown>): string {
  if ('anyOf' in node) return 'Union'
  if ('const' in node) return 'Literal'
  if (node.type === undefined) return 'Unknown'
  const kind = typeof node.type === 'string' ? KIND_OF_TYPE[node.type] : undefined
  if (kind === undefined) throw new Error(`unsupported type ${JSON.stringify(node.type)}`)
  return kind
}

function checkable(node: unknown, at: string): TSchema {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new Error(`${at}: not a schema`)
  const schema = node as Record<string, unknown>
  const kind = kindOf(schema)
  const unknown = Object.keys(schema).filter((key) => !KEYWORDS[kind]?.includes(key) && !ANNOTATIONS.includes(key))
  if (unknown.length > 0) throw new Error(`${at}: keywords this helper cannot check: ${unknown.join(', ')}`)
  const out: Record<string | symbol, unknown> = { ...schema, [Kind]: kind }
  if (schema.properties !== undefined)
    out.properties = Object.fromEntries(
      Object.entries(schema.properties as Record<string, unknown>).map(([key, value]) => [key, checkable(value, `${at}/properties/${key}`)]),
    )
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = checkable(schema.additionalProperties, `${at}/additionalProperties`)
  if (schema.items !== undefined) out.items = checkable(schema.items, `${at}/items`)
  if (Array.isArray(schema.anyOf)) out.anyOf = schema.anyOf.map((inner: unknown, index) => checkable(inner, `${at}/anyOf/${index}`))
  // With its Kind it is what TypeBox's Value reads; the rest of TSchema is types only.
  return out as unknown as TSchema
}

/** A published JSON Schema file under docs/, parsed and made checkable by TypeBox's Value. */
export function publishedSchema(file: string): TSchema {
  return checkable(JSON.parse(readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8')), file)
}

/** The validation errors of `value` against `schema`, one `path: message` line each. */
export function schemaErrors(schema: TSchema, value: unknown): string[] {
  return [...Value.Errors(schema, value)].map((error) => `${error.path}: ${error.message}`)
}
