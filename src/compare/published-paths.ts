import { createHmac } from 'node:crypto'
import { formatPointer, parsePointer, type JsonValue } from './json-pointer.ts'

/**
 * What a slice's config says about the object keys of its bodies — the slice's declared shape, as
 * far as publishing paths is concerned (issue 14, point 5).
 */
export interface KeyDeclarations {
  /**
   * Keys the config names anywhere: segments of its compare, translate and model paths, the
   * `unorderedArrays` keys, the property names of its JSON Schema. A word the config spells out is
   * vocabulary, not data, so it is published as it is wherever it occurs.
   */
  readonly named: readonly string[]
  /**
   * `/body/...` patterns (`*` segments) of keys allowed in clear (`compare.clearKeys`): every key at
   * a position a pattern spells out, `*` included, is published as it is — for maps keyed by codes.
   */
  readonly clear: readonly string[]
}

/** A published key that stood for a data key: `#` and 16 hex digits of a salted HMAC. */
export const HASHED_KEY = /^#[0-9a-f]{16}$/
const HASHED_KEY_HEX_DIGITS = 16
/** Distinct keys remembered per slice; beyond, the memo starts over (hashing is only slower). */
const MEMO_LIMIT = 4_096
const INDEX = /^\d+$/

/**
 * A data key as published: stable for one key and one salt, so the same key always gives the same
 * segment and counts keyed by path (noise evidence, report aggregates) still add up. Domain-separated
 * from value hashes, so a key and an equal value do not hash alike.
 */
export function hashedKey(salt: string, key: string): string {
  return `#${createHmac('sha256', salt).update('ficus:key\0').update(key).digest('hex').slice(0, HASHED_KEY_HEX_DIGITS)}`
}

function childOf(container: JsonValue, segment: string): JsonValue | undefined {
  if (Array.isArray(container)) return INDEX.test(segment) ? container[Number(segment)] : undefined
  if (container !== null && typeof container === 'object' && Object.prototype.hasOwnProperty.call(container, segment)) return container[segment]
  return undefined
}

/**
 * Diff paths as a slice publishes them. Object keys under `/body` that come from data — neither
 * named by the config nor allowed by `compare.clearKeys` — are replaced by `hashedKey`; array
 * indexes, `/status` and `/headers/<name>` (names the config lists) stay as they are. Paths are
 * hashed where they are made, before classification and noise evidence, so everything downstream
 * (noise, the record, reports, operators' noise decisions) speaks one consistent language.
 */
export class PublishedPaths {
  readonly #named: ReadonlySet<string>
  readonly #clear: readonly (readonly string[])[]
  readonly #salt: string
  readonly #memo = new Map<string, string>()

  constructor(declarations: KeyDeclarations, salt: string) {
    this.#named = new Set(declarations.named)
    this.#clear = declarations.clear.map(parsePointer)
    this.#salt = salt
  }

  /**
   * `path` as published. `roots` are the bodies the path was found in (translated, body-relative):
   * they tell an array index from an object key that happens to be all digits (an account number).
   * A digit segment no root shows to be an index is treated as a key.
   */
  path(path: string, roots: readonly (JsonValue | undefined)[]): string {
    if (!path.startsWith('/body/')) return path
    const segments = parsePointer(path)
    let containers = roots.filter((root): root is JsonValue => root !== undefined)
    const out = ['body']
    for (let at = 1; at < segments.length; at++) {
      const segment = segments[at] as string
      const index = INDEX.test(segment) && containers.some((container) => Array.isArray(container))
      out.push(index ? segment : this.key(segments, at))
      containers = containers.map((container) => childOf(container, segment)).filter((child): child is JsonValue => child !== undefined)
    }
    return formatPointer(out)
  }

  /** The object key `segments[at]` (`segments[0]` is `body`, earlier ones in clear) as published. */
  key(segments: readonly string[], at: number): string {
    const key = segments[at] as string
    if (this.#named.has(key) || this.#clear.some((pattern) => allowedAt(pattern, segments, at))) return key
    let hashed = this.#memo.get(key)
    if (hashed === undefined) {
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear()
      hashed = hashedKey(this.#salt, key)
      this.#memo.set(key, hashed)
    }
    return hashed
  }
}

/** True when `pattern` spells out position `at` of `segments` and matches every segment up to it. */
function allowedAt(pattern: readonly string[], segments: readonly string[], at: number): boolean {
  if (pattern.length <= at) return false
  for (let i = 0; i <= at; i++) if (pattern[i] !== '*' && pattern[i] !== segments[i]) return false
  return true
}
