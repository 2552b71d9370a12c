import type { TSchema } from '@sinclair/typebox'

/** The JSON Schema dialect of the published event schemas. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema'

function open(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(open)
  if (node === null || typeof node !== 'object') return node
  const source = node as Record<string | symbol, unknown>
  const copy: Record<string | symbol, unknown> = {}
  // Reflect.ownKeys keeps TypeBox's Kind symbols: the result is still a TypeBox schema.
  for (const key of Reflect.ownKeys(source)) {
    if (key === 'additionalProperties' && source[key] === false && source.type === 'object') continue
    copy[key] = open(source[key])
  }
  return copy
}

/**
 * An event schema as consumers get it: every object open to properties it does not name. Within a
 * schema version fields are only added (docs/events.md), so a consumer validating with today's
 * schema must accept tomorrow's events. The definitions stay closed (`additionalProperties: false`)
 * because they check what Ficus itself writes, where an unknown property is a typo.
 */
export function openSchema<T extends TSchema>(schema: T): T {
  return open(schema) as T
}

/** The JSON document published under docs/: the open rendering of a strict definition. */
export function publishedSchemaDocument(schema: TSchema): string {
  return `${JSON.stringify({ $schema: JSON_SCHEMA_DIALECT, ...openSchema(schema) }, null, 2)}\n`
}
