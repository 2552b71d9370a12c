import type { TSchema } from '@sinclair/typebox'

/** The JSON Schema dialect of the published event schemas. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema'

/** The values of an enumeration written as a union of string constants, or undefined. */
function enumeration(node: Record<string | symbol, unknown>): string[] | undefined {
  const members = node.anyOf
  if (!Array.isArray(members) || members.length < 2) return undefined
  const values = members.map((member) => (member !== null && typeof member === 'object' ? (member as { const?: unknown }).const : undefined))
  return values.every((value): value is string => typeof value === 'string') ? values : undefined
}

function open(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(open)
  if (node === null || typeof node !== 'object') return node
  const source = node as Record<string | symbol, unknown>
  // An enumeration grows within a schema version (a new category, a new family): consumers get a
  // string with the values known today, so tomorrow's value does not fail today's validator.
  const known = enumeration(source)
  if (known) {
    const description = typeof source.description === 'string' ? `${source.description} ` : ''
    return { type: 'string', description: `${description}Known values: ${known.join(', ')}; later releases of this version may add others.` }
  }
  const copy: Record<string | symbol, unknown> = {}
  // Reflect.ownKeys keeps TypeBox's Kind symbols: the result is still a TypeBox schema.
  for (const key of Reflect.ownKeys(source)) {
    if (key === 'additionalProperties' && source[key] === false && source.type === 'object') continue
    copy[key] = open(source[key])
  }
  return copy
}

/**
 * An event schema as consumers get it: every object open to properties it does not name, every
 * enumeration open to values it does not list. Within a schema version fields and values are only
 * added (docs/events.md), so a consumer validating with today's schema must accept tomorrow's events. The definitions stay closed (`additionalProperties: false`)
 * because they check what Ficus itself writes, where an unknown property is a typo.
 */
export function openSchema<T extends TSchema>(schema: T): T {
  return open(schema) as T
}

/** The JSON document published under docs/: the open rendering of a strict definition. */
export function publishedSchemaDocument(schema: TSchema): string {
  return `${JSON.stringify({ $schema: JSON_SCHEMA_DIALECT, ...openSchema(schema) }, null, 2)}\n`
}
