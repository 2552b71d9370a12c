import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import type { ConfigIssue } from '../errors/errors.ts'

const SIMPLE_KEY = /^[A-Za-z_$][\w$-]*$/

/** `/slices/coverage-status/routes/1/path` → `slices.coverage-status.routes[1].path` */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (SIMPLE_KEY.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out === '' ? '(root)' : out
}

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment))
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function literalOptions(schema: TSchema): string[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf
  if (!anyOf?.every((member) => 'const' in member)) return undefined
  return anyOf.map((member) => JSON.stringify((member as unknown as { const: unknown }).const))
}

function message(error: ValueError): string {
  const schema = error.schema as Record<string, unknown>
  const got = `got ${describe(error.value)}`
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((schema.properties as object | undefined) ?? {})
      return known.length > 0 ? `unknown key (allowed: ${known.join(', ')})` : 'unknown key'
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required'
    case ValueErrorType.Union: {
      // A union that says in words what it accepts (gateway.workers) says it.
      if (typeof schema.mustBe === 'string') return `must be ${schema.mustBe} (${got})`
      const options = literalOptions(error.schema)
      return options ? `must be one of ${options.join(', ')} (${got})` : `has an unexpected shape (${got})`
    }
    case ValueErrorType.String:
      return `must be a string (${got})`
    case ValueErrorType.StringMinLength:
      return 'must not be empty'
    case ValueErrorType.Boolean:
      return `must be true or false (${got})`
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
      return `must be a whole number (${got})`
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${String(schema.minimum)} (${got})`
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${String(schema.maximum)} (${got})`
    case ValueErrorType.Object:
      return `must be an object (${got})`
    case ValueErrorType.Array:
      return `must be a list (${got})`
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(schema.minItems)} item(s)`
    default:
      return `${error.message} (${got})`
  }
}

/**
 * Structural validation of a value against a TypeBox schema, reported as config issues with dotted
 * paths. Only the first issue per path is kept: a wrong value often fails several sub-schemas.
 */
export function schemaIssues(schema: TSchema, value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(schema, value)) {
    const segments = pointerSegments(error.path)
    const path = formatPath(segments)
    if (seen.has(path)) continue
    seen.add(path)
    // TypeBox reports a missing required key at the key's own path, as a type error on `undefined`.
    issues.push({ path, message: error.value === undefined ? 'is required' : message(error) })
  }
  return issues
}
