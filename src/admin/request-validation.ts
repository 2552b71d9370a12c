import { Ajv, type ErrorObject } from 'ajv'
import type { TSchema } from '@sinclair/typebox'
import type { FastifySchemaCompiler } from 'fastify'
import { fail, FicusError } from '../errors/errors.ts'
import type { RefusalWording } from './admin-schemas.ts'

interface FieldSchema extends RefusalWording {
  readonly type?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly anyOf?: readonly { readonly const?: unknown }[]
}

interface PartSchema extends FieldSchema {
  readonly properties?: Readonly<Record<string, FieldSchema>>
}

type Part = 'body' | 'querystring'

const ANNOTATIONS = ['expected', 'echo', 'refusal', 'errorCode']

// One validator per part, as fastify's docs show for parts that need different options. A body is
// JSON: a value of the wrong type is refused, never coerced ("5" is not 5, 1 is not true). A query
// string is text: its numbers are read as numbers. Neither drops an unknown field (fastify's default
// does, silently): a body's is refused, a query string's is left to the schema (the admin API's
// ignore them). Every error is collected so that the answer names the most useful
// one (an unknown field before a missing one), not whichever ajv met first; the body limit (64 KiB)
// bounds how many there can be.
const VALIDATORS: Record<Part, Ajv> = {
  body: new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, keywords: ANNOTATIONS }),
  querystring: new Ajv({ allErrors: true, coerceTypes: 'array', removeAdditional: false, keywords: ANNOTATIONS }),
}

/**
 * The admin server's validator compiler: a refused body or query string becomes the FicusError the
 * client reads (through the error handler), worded by `refusal` — the one place that does so.
 */
export const adminValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if (httpPart !== 'body' && httpPart !== 'querystring') throw new Error(`the admin API validates bodies and query strings only, not ${String(httpPart)}`)
  const validate = VALIDATORS[httpPart].compile(schema)
  return (data: unknown) => (validate(data) ? true : { error: refusal(validate.errors ?? [], schema as PartSchema, httpPart, data) })
}

/**
 * The refusal of a body or query string, from ajv's errors: the field at fault, what it must be, and
 * the code its schema names. A query string's values, and the names of its unknown parameters, are
 * never echoed: they would reach the log (docs/front-door.md, "The admin port").
 */
export function refusal(errors: readonly ErrorObject[], schema: PartSchema, part: Part, data: unknown): FicusError {
  const fields = Object.keys(schema.properties ?? {})
  const rank = (error: ErrorObject): number => {
    if (error.instancePath === '' && error.keyword === 'type') return 0
    if (error.keyword === 'additionalProperties') return 1
    const index = fields.indexOf(fieldOf(error))
    return 2 + (index === -1 ? fields.length : index)
  }
  const error = [...errors].sort((a, b) => rank(a) - rank(b))[0]
  const what = part === 'body' ? 'body' : 'query string'
  if (!error) return badRequest(`${what}: refused`, part)
  if (error.instancePath === '' && error.keyword === 'type') return badRequest(`${what}: must be a JSON object`, part)
  if (error.keyword === 'additionalProperties') {
    const allowed = `(allowed: ${fields.join(', ')})`
    if (part === 'querystring') return badRequest(`unknown query parameter ${allowed}`, part)
    const key = String((error.params as { additionalProperty: unknown }).additionalProperty)
    return badRequest(`${key}: unknown field ${allowed}`, key)
  }
  const field = fieldOf(error)
  const fieldSchema = schema.properties?.[field] ?? {}
  const code = fieldSchema.errorCode ?? schema.errorCode ?? 'FICUS_ERR_BAD_REQUEST'
  return new FicusError(code, `${field}: ${fieldRefusal(fieldSchema, error.keyword === 'required', part === 'body' ? valueOf(data, field) : undefined)}`, {
    details: { field },
  })
}

/** What is wrong with a field: its `refusal`, "is required", or what it must be (with what was sent, where `echo` says). */
function fieldRefusal(schema: FieldSchema, missing: boolean, sent: { readonly value: unknown } | undefined): string {
  if (schema.refusal !== undefined) return schema.refusal
  if (missing) return 'is required'
  const got = schema.echo === true && sent ? ` (got ${JSON.stringify(sent.value) ?? 'nothing'})` : ''
  return `must be ${expectation(schema)}${got}`
}

function valueOf(data: unknown, field: string): { readonly value: unknown } | undefined {
  return data !== null && typeof data === 'object' && Object.prototype.hasOwnProperty.call(data, field)
    ? { value: (data as Record<string, unknown>)[field] }
    : undefined
}

/** The top-level field an error is about: the missing one, or the first step of its path. */
function fieldOf(error: ErrorObject): string {
  if (error.keyword === 'required') return String((error.params as { missingProperty: unknown }).missingProperty)
  const step = error.instancePath.split('/')[1] ?? ''
  return step.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** What a field must be, in words: its `expected` annotation, or its type's. */
function expectation(schema: FieldSchema): string {
  if (schema.expected !== undefined) return schema.expected
  if (schema.anyOf?.every((member) => 'const' in member)) return `one of ${schema.anyOf.map((member) => String(member.const)).join(', ')}`
  switch (schema.type) {
    case 'integer':
      if (schema.minimum !== undefined && schema.maximum !== undefined) return `a whole number from ${schema.minimum} to ${schema.maximum}`
      return schema.minimum === undefined ? 'a whole number' : `a whole number ≥ ${schema.minimum}`
    case 'boolean':
      return 'true or false'
    case 'string':
      return 'a string'
    case 'array':
      return 'a list'
    case 'object':
      return 'a JSON object'
    default:
      return `of type ${schema.type ?? 'unknown'}`
  }
}

function badRequest(message: string, field: string): FicusError {
  return fail.badRequest(message, { details: { field } })
}
