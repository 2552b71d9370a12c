import { coveredBy, formatPointer, matchesPattern, parsePointer, type JsonValue } from './json-pointer.ts'

export const DIFF_KINDS = ['added', 'removed', 'changed', 'type'] as const
export type DiffKind = (typeof DIFF_KINDS)[number]

/**
 * One difference between the translated legacy body and the modern body. `added`: only modern has
 * it; `removed`: only legacy has it; `changed`: same type, other value; `type`: different JSON types.
 */
export interface DiffEntry {
  readonly path: string
  readonly kind: DiffKind
  readonly legacy?: JsonValue
  readonly modern?: JsonValue
}

export interface DiffOptions {
  /** Paths (JSON pointers, `*` segments allowed) whose subtrees are not compared. */
  readonly ignore?: readonly string[]
  /** Numbers closer than this are equal. */
  readonly numericTolerance?: number
  /** Arrays compared as sets: matched by `key` field when given, else by equal content. */
  readonly unorderedArrays?: readonly { readonly path: string; readonly key?: string }[]
  /** ISO 8601 timestamps closer than this many milliseconds are equal. */
  readonly timestampToleranceMs?: number
  /** Stop after this many entries (the result says it was truncated). */
  readonly maxEntries?: number
}

export interface DiffResult {
  readonly entries: readonly DiffEntry[]
  readonly truncated: boolean
}

const DEFAULT_MAX_ENTRIES = 100
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object'

function kindOf(value: JsonValue): Kind {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value as Kind
}

/** Canonical JSON (sorted keys): equal values give equal text. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}

interface CompiledOptions {
  readonly ignore: readonly string[][]
  readonly unordered: readonly { readonly pattern: string[]; readonly key: string | undefined }[]
}

// A slice's options are one object for the life of its config: parse their pointers once.
const compiled = new WeakMap<DiffOptions, CompiledOptions>()

function compile(options: DiffOptions): CompiledOptions {
  let plan = compiled.get(options)
  if (!plan) {
    plan = {
      ignore: (options.ignore ?? []).map(parsePointer),
      unordered: (options.unorderedArrays ?? []).map((rule) => ({ pattern: parsePointer(rule.path), key: rule.key })),
    }
    compiled.set(options, plan)
  }
  return plan
}

/** A structural diff of two JSON values, legacy (translated) against modern. Pure. */
export function diffJson(legacy: JsonValue, modern: JsonValue, options: DiffOptions = {}): DiffResult {
  const diff = new JsonDiff(options)
  diff.walk(legacy, modern, [])
  return { entries: diff.entries, truncated: diff.truncated }
}

/** One diff in progress: the options it applies and the entries found so far. */
class JsonDiff {
  readonly entries: DiffEntry[] = []
  truncated = false
  readonly #ignore: CompiledOptions['ignore']
  readonly #unordered: CompiledOptions['unordered']
  readonly #tolerance: number
  readonly #timeTolerance: number
  readonly #max: number

  constructor(options: DiffOptions) {
    const { ignore, unordered } = compile(options)
    this.#ignore = ignore
    this.#unordered = unordered
    this.#tolerance = options.numericTolerance ?? 0
    this.#timeTolerance = options.timestampToleranceMs ?? 0
    this.#max = options.maxEntries ?? DEFAULT_MAX_ENTRIES
  }

  walk(a: JsonValue, b: JsonValue, path: string[]): void {
    // One value (a body both sides answered alike, decoded once) or one scalar: nothing differs under any option.
    if (a === b || this.#ignored(path)) return
    const ka = kindOf(a)
    const kb = kindOf(b)
    if (ka !== kb) this.#push({ path: formatPointer(path), kind: 'type', legacy: a, modern: b })
    else if (ka === 'object') this.#compareObjects(a as Record<string, JsonValue>, b as Record<string, JsonValue>, path)
    else if (ka === 'array') {
      const rule = this.#unordered.find((candidate) => matchesPattern(path, candidate.pattern))
      if (rule) this.#compareUnordered(a as JsonValue[], b as JsonValue[], path, rule.key)
      else this.#compareOrdered(a as JsonValue[], b as JsonValue[], path)
    } else if (!this.#scalarsEqual(a, b)) this.#push({ path: formatPointer(path), kind: 'changed', legacy: a, modern: b })
  }

  #push(entry: DiffEntry): void {
    if (this.entries.length < this.#max) this.entries.push(entry)
    else this.truncated = true
  }

  #ignored(path: readonly string[]): boolean {
    return this.#ignore.some((pattern) => coveredBy(path, pattern))
  }

  #scalarsEqual(a: JsonValue, b: JsonValue): boolean {
    if (a === b) return true
    if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= this.#tolerance
    if (this.#timeTolerance > 0 && typeof a === 'string' && typeof b === 'string' && ISO_TIMESTAMP.test(a) && ISO_TIMESTAMP.test(b)) {
      const delta = Math.abs(Date.parse(a) - Date.parse(b))
      return Number.isFinite(delta) && delta <= this.#timeTolerance
    }
    return false
  }

  // `path` is one stack for the whole walk, pushed and popped around each member: no array per key
  // visited (an entry takes the pointer's text, never the array).
  #compareObjects(a: Record<string, JsonValue>, b: Record<string, JsonValue>, path: string[]): void {
    for (const key of Object.keys(a)) {
      path.push(key)
      if (Object.prototype.hasOwnProperty.call(b, key)) this.walk(a[key] as JsonValue, b[key] as JsonValue, path)
      else if (!this.#ignored(path)) this.#push({ path: formatPointer(path), kind: 'removed', legacy: a[key] })
      path.pop()
    }
    for (const key of Object.keys(b)) {
      if (Object.prototype.hasOwnProperty.call(a, key)) continue
      path.push(key)
      if (!this.#ignored(path)) this.#push({ path: formatPointer(path), kind: 'added', modern: b[key] })
      path.pop()
    }
  }

  #compareOrdered(a: JsonValue[], b: JsonValue[], path: string[]): void {
    const shared = Math.min(a.length, b.length)
    for (let i = 0; i < shared; i++) {
      path.push(String(i))
      this.walk(a[i] as JsonValue, b[i] as JsonValue, path)
      path.pop()
    }
    for (let i = shared; i < a.length; i++) this.#push({ path: formatPointer([...path, String(i)]), kind: 'removed', legacy: a[i] })
    for (let i = shared; i < b.length; i++) this.#push({ path: formatPointer([...path, String(i)]), kind: 'added', modern: b[i] })
  }

  /** Items matched by `key` (their content then compared) or, without one, by their whole content. */
  #compareUnordered(a: JsonValue[], b: JsonValue[], path: string[], key: string | undefined): void {
    const identity = (item: JsonValue): string =>
      key !== undefined && item !== null && typeof item === 'object' && !Array.isArray(item) && key in item
        ? `key:${canonicalJson(item[key] as JsonValue)}`
        : `item:${canonicalJson(item)}`
    const pending = new Map<string, number[]>()
    b.forEach((item, index) => {
      const id = identity(item)
      pending.set(id, [...(pending.get(id) ?? []), index])
    })
    a.forEach((item, index) => {
      const id = identity(item)
      const match = pending.get(id)?.shift()
      if (match === undefined) this.#push({ path: formatPointer([...path, String(index)]), kind: 'removed', legacy: item })
      // Matched by key: compare the items' content; matched by content: equal by construction.
      else if (id.startsWith('key:')) this.walk(item, b[match] as JsonValue, [...path, String(index)])
    })
    for (const indexes of pending.values())
      for (const index of indexes) this.#push({ path: formatPointer([...path, String(index)]), kind: 'added', modern: b[index] })
  }
}
