import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { expand, formatPointer, parsePointer, type JsonValue } from './json-pointer.ts'

/** Named formats a model rule can require of a string. */
export const MODEL_FORMATS = ['date', 'date-time', 'email', 'uuid'] as const
export type ModelFormat = (typeof MODEL_FORMATS)[number] | `pattern:${string}`

/**
 * What a slice declares about the new model, checked against the legacy answer once translated:
 * where it fails, the legacy data itself is wrong (a source-data defect), not the migration.
 * Paths are JSON pointers in the new (translated) shape; a `*` segment stands for every key or index.
 */
export interface ModelRules {
  /** Values that must be present (and not null). */
  required?: string[]
  /** The only values a path may hold. */
  values?: Record<string, JsonValue[]>
  /** Formats of string values: `date`, `date-time`, `email`, `uuid`, or `pattern:<regular expression>`. */
  formats?: Record<string, ModelFormat>
  /** Bounds of numeric values. */
  ranges?: Record<string, { min?: number; max?: number }>
  /** A JSON Schema (2020-12) of the whole translated body. */
  schema?: Record<string, unknown>
}

/**
 * One rule the legacy answer breaks: where (`/body/...`), which rule, and what is wrong — never
 * the value itself (values are published only where a slice opts in, as hashes otherwise).
 */
export interface Violation {
  readonly path: string
  readonly rule: 'required' | 'values' | 'format' | 'range' | 'schema'
  readonly detail: string
}

export type CheckModel = (body: JsonValue) => Violation[]

const FORMAT_TESTS: Readonly<Record<(typeof MODEL_FORMATS)[number], RegExp>> = {
  date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
  'date-time': /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
}

/** A format as a test; throws with a message for a pattern that does not compile. */
export function formatTest(format: ModelFormat): RegExp {
  if (format.startsWith('pattern:')) return new RegExp(format.slice('pattern:'.length), 'u')
  const test = FORMAT_TESTS[format as (typeof MODEL_FORMATS)[number]] as RegExp | undefined
  if (!test) throw new Error(`unknown format ${JSON.stringify(format)}: use ${MODEL_FORMATS.join(', ')} or pattern:<regular expression>`)
  return test
}

/** A JSON Schema compiled once; throws with ajv's message when the schema itself is invalid. */
export function compileSchema(schema: Readonly<Record<string, unknown>>): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  addFormats.default(ajv)
  return ajv.compile(schema)
}

/** Compiles a slice's model rules (at config load) into a pure check of a translated body. */
export function compileModelRules(rules: ModelRules): CheckModel {
  const required = (rules.required ?? []).map((path) => parsePointer(path))
  const values = Object.entries(rules.values ?? {}).map(
    ([path, allowed]) => [parsePointer(path), new Set(allowed.map((value) => JSON.stringify(value)))] as const,
  )
  const formats = Object.entries(rules.formats ?? {}).map(([path, format]) => [parsePointer(path), format, formatTest(format)] as const)
  const ranges = Object.entries(rules.ranges ?? {}).map(([path, range]) => [parsePointer(path), range] as const)
  const schema = rules.schema === undefined ? undefined : compileSchema(rules.schema)

  return (body) => {
    const found: Violation[] = []
    const at = (segments: readonly string[]): string => `/body${formatPointer(segments)}`
    for (const pattern of required) {
      // The parent may hold a `*`: every element (or key) it expands to must have the last segment.
      const parent = pattern.slice(0, -1)
      const last = pattern.at(-1) ?? ''
      const parents = parent.length === 0 ? [{ segments: [], value: body }] : expand(body, parent)
      for (const { segments, value } of parents) {
        const child = value !== null && typeof value === 'object' && !Array.isArray(value) ? value[last] : undefined
        if (child === undefined || child === null) found.push({ path: at([...segments, last]), rule: 'required', detail: child === null ? 'null' : 'missing' })
      }
    }
    for (const [pattern, allowed] of values) {
      for (const { segments, value } of expand(body, pattern)) {
        if (!allowed.has(JSON.stringify(value))) found.push({ path: at(segments), rule: 'values', detail: 'not an allowed value' })
      }
    }
    for (const [pattern, format, test] of formats) {
      for (const { segments, value } of expand(body, pattern)) {
        if (value === null) continue
        if (typeof value !== 'string' || !test.test(value))
          found.push({ path: at(segments), rule: 'format', detail: format.startsWith('pattern:') ? `does not match ${format.slice(8)}` : `not a ${format}` })
      }
    }
    for (const [pattern, range] of ranges) {
      for (const { segments, value } of expand(body, pattern)) {
        if (value === null) continue
        const low = range.min !== undefined && (typeof value !== 'number' || value < range.min)
        const high = range.max !== undefined && (typeof value !== 'number' || value > range.max)
        if (typeof value !== 'number' || low || high)
          found.push({
            path: at(segments),
            rule: 'range',
            detail: typeof value !== 'number' ? 'not a number' : `outside ${range.min ?? '-inf'}..${range.max ?? 'inf'}`,
          })
      }
    }
    if (schema && !schema(body)) {
      for (const error of schema.errors ?? []) {
        const missing = error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined
        const path = missing === undefined ? error.instancePath : `${error.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`
        found.push({ path: `/body${path}`, rule: 'schema', detail: error.message ?? 'does not match the schema' })
      }
    }
    return found
  }
}
