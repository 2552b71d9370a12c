import type { AnswerHeaders, BodyView } from './decode-body.ts'
import { diffJson, type DiffEntry, type DiffOptions } from './json-diff.ts'
import type { JsonValue } from './json-pointer.ts'
import type { CheckModel } from './model-rules.ts'
import type { PublishedPaths } from './published-paths.ts'
import type { Translate, Untranslated } from './translate.ts'
import { mediaTypeEssence } from './header-tokens.ts'

/** One side's answer, ready to compare. */
export interface ResponseSnapshot {
  readonly status: number
  readonly headers: AnswerHeaders
  readonly body: BodyView
}

export interface CompareRules {
  /** Lower-case header names compared (content-type by media type only). */
  readonly headers: readonly string[]
  /** Body diff options; `ignore` paths are relative to the body. */
  readonly diff: DiffOptions
  /** Compare bodies and headers of error answers (status ≥ 400) too; by default only their status. */
  readonly errorBodies: boolean
  /** Translation of each side's JSON body into the common (modern) language. */
  readonly translate: { readonly legacy?: Translate; readonly modern?: Translate }
  /** The new model's rules, checked against the translated legacy body (source-data defects). */
  readonly model?: CheckModel
}

/**
 * Differences between the two answers, as one list: `/status`, `/headers/<name>` and `/body/...`
 * entries. Untranslated values carry `/body/...` paths too.
 */
export interface ResponseComparison {
  readonly entries: readonly DiffEntry[]
  readonly truncated: boolean
  readonly untranslated: readonly Untranslated[]
  /** Why the bodies could not be compared (the status still was): over the cap, undecodable, unreadable media. */
  readonly notCompared: string | null
  /** Both bodies after translation, when both were JSON. */
  readonly translated?: { readonly legacy: JsonValue; readonly modern: JsonValue }
}

function headerValue(headers: ResponseSnapshot['headers'], name: string): string | undefined {
  const value = headers[name]
  const text = Array.isArray(value) ? value.join(', ') : value
  if (text === undefined) return undefined
  return name === 'content-type' ? (text.split(';')[0] ?? '').trim().toLowerCase() : text
}

function bodyToken(body: BodyView): string {
  switch (body.kind) {
    case 'json':
    case 'empty':
    case 'invalid-json':
      return body.kind
    default:
      return body.sha256
  }
}

/** Why two bodies cannot be compared, or null when they can (by value, kind or hash). */
function unreadable(legacy: ResponseSnapshot, modern: ResponseSnapshot): string | null {
  for (const side of [legacy, modern]) if (side.body.kind === 'opaque') return side.body.reason
  if (legacy.body.kind !== 'bytes' && modern.body.kind !== 'bytes') return null
  // Equal bytes are equal whatever they mean; otherwise a media type the comparer cannot read.
  if (legacy.body.kind === 'bytes' && modern.body.kind === 'bytes' && legacy.body.sha256 === modern.body.sha256) return null
  const side = legacy.body.kind === 'bytes' ? legacy : modern
  return `media ${mediaTypeEssence(headerValue(side.headers, 'content-type')) ?? 'unknown'}`
}

/**
 * Compares a legacy and a modern answer after translating both into one language. With `paths`,
 * every `/body/...` path (differences, untranslated values) is in its published form, data keys
 * hashed. Pure.
 */
export function compareResponses(legacy: ResponseSnapshot, modern: ResponseSnapshot, rules: CompareRules, paths?: PublishedPaths): ResponseComparison {
  const entries: DiffEntry[] = []
  const untranslated: Untranslated[] = []
  let truncated = false
  if (legacy.status !== modern.status) entries.push({ path: '/status', kind: 'changed', legacy: legacy.status, modern: modern.status })

  const errorAnswer = legacy.status >= 400 || modern.status >= 400
  if (errorAnswer && !rules.errorBodies) return { entries, truncated, untranslated, notCompared: null }
  const notCompared = unreadable(legacy, modern)
  if (notCompared !== null) return { entries, truncated, untranslated, notCompared }

  for (const name of rules.headers) {
    const a = headerValue(legacy.headers, name)
    const b = headerValue(modern.headers, name)
    if (a === b) continue
    const path = `/headers/${name}`
    if (a === undefined) entries.push({ path, kind: 'added', modern: b })
    else if (b === undefined) entries.push({ path, kind: 'removed', legacy: a })
    else entries.push({ path, kind: 'changed', legacy: a, modern: b })
  }

  if (legacy.body.kind === 'json' && modern.body.kind === 'json') {
    const translate = (value: JsonValue, fn: Translate | undefined): JsonValue => {
      if (!fn) return value
      const result = fn(value)
      untranslated.push(...result.untranslated.map((item) => ({ ...item, path: `/body${item.path}` })))
      return result.body
    }
    const translated = { legacy: translate(legacy.body.value, rules.translate.legacy), modern: translate(modern.body.value, rules.translate.modern) }
    const diff = diffJson(translated.legacy, translated.modern, rules.diff)
    entries.push(...diff.entries.map((entry) => ({ ...entry, path: `/body${entry.path}` })))
    truncated = diff.truncated
    if (!paths) return { entries, truncated, untranslated, notCompared: null, translated }
    const roots = [translated.legacy, translated.modern]
    const published = <T extends { readonly path: string }>(item: T): T => ({ ...item, path: paths.path(item.path, roots) })
    return { entries: entries.map(published), truncated, untranslated: untranslated.map(published), notCompared: null, translated }
  }
  const a = bodyToken(legacy.body)
  const b = bodyToken(modern.body)
  if (a !== b)
    entries.push({ path: '/body', kind: legacy.body.kind === modern.body.kind ? 'changed' : 'type', legacy: legacy.body.kind, modern: modern.body.kind })
  return { entries, truncated, untranslated, notCompared: null }
}
