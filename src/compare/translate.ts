import { expand, formatPointer, parsePointer, removeAt, setAt, type JsonValue } from './json-pointer.ts'

/** A type coercion: string amounts to numbers, dates from a legacy format to ISO 8601. */
export type Coercion = 'number' | 'string' | 'boolean' | `date:${string}`

/**
 * Declarative rules of the anti-corruption layer, applied in this order: `rename` (moves, from
 * the legacy shape to the new), then `values`, `coerce`, `set` and `remove` (paths in the new
 * shape), then `fn`, the escape hatch for what rules cannot say. Paths are JSON pointers; in
 * `values` and `coerce` a `*` segment stands for every key or index.
 */
export interface TranslationRules {
  readonly rename?: Readonly<Record<string, string>>
  readonly values?: Readonly<Record<string, Readonly<Record<string, JsonValue>>>>
  readonly coerce?: Readonly<Record<string, Coercion>>
  readonly set?: Readonly<Record<string, JsonValue>>
  readonly remove?: string[]
  readonly fn?: (body: JsonValue) => JsonValue
}

/** A value the translation could not carry over: a translation defect. */
export interface Untranslated {
  readonly path: string
  readonly value: JsonValue
  readonly rule: 'values' | 'coerce' | 'fn'
}

export interface TranslationResult {
  readonly body: JsonValue
  readonly untranslated: readonly Untranslated[]
}

export type Translate = (body: JsonValue) => TranslationResult

const DATE_TOKENS = { YYYY: '(\\d{4})', MM: '(\\d{2})', DD: '(\\d{2})', HH: '(\\d{2})', mm: '(\\d{2})', ss: '(\\d{2})' } as const
type DateToken = keyof typeof DATE_TOKENS

/** `date:YYYYMMDD` → a parser to ISO 8601 (`2025-01-01`, or with a time `2025-01-01T10:30:00`). */
export function dateParser(format: string): (value: string) => string | undefined {
  const order: DateToken[] = []
  const source = format.replace(/YYYY|MM|DD|HH|mm|ss|[.*+?^${}()|[\]\\]/g, (token) => {
    if (token in DATE_TOKENS) {
      order.push(token as DateToken)
      return DATE_TOKENS[token as DateToken]
    }
    return `\\${token}`
  })
  if (!order.includes('YYYY') || !order.includes('MM') || !order.includes('DD')) throw new Error(`date format ${JSON.stringify(format)} needs YYYY, MM and DD`)
  const pattern = new RegExp(`^${source}$`)
  return (value) => {
    const match = pattern.exec(value)
    if (!match) return undefined
    const part = (token: DateToken): string => match[order.indexOf(token) + 1] ?? '00'
    const month = Number(part('MM'))
    const day = Number(part('DD'))
    if (month < 1 || month > 12 || day < 1 || day > 31) return undefined
    const date = `${part('YYYY')}-${part('MM')}-${part('DD')}`
    return order.includes('HH') ? `${date}T${part('HH')}:${part('mm')}:${part('ss')}` : date
  }
}

function coercer(coercion: Coercion): (value: JsonValue) => JsonValue | undefined {
  if (coercion === 'number') {
    return (value) => {
      if (typeof value === 'number') return value
      if (typeof value !== 'string' || !/^\s*-?\d+(\.\d+)?\s*$/.test(value)) return undefined
      return Number(value)
    }
  }
  if (coercion === 'string') return (value) => (value === null || typeof value === 'object' ? undefined : String(value))
  if (coercion === 'boolean') {
    return (value) => {
      if (typeof value === 'boolean') return value
      if (value === 'true' || value === 'Y' || value === 1) return true
      if (value === 'false' || value === 'N' || value === 0) return false
      return undefined
    }
  }
  const parse = dateParser(coercion.slice('date:'.length))
  return (value) => (typeof value === 'string' ? parse(value) : undefined)
}

/**
 * Compiles rules once (at config load) into a pure function. Values the `values` maps do not know
 * and values a coercion cannot convert are left as they are and reported as untranslated; `null`
 * passes through both. The input is never modified.
 */
export function compileTranslation(rules: TranslationRules): Translate {
  const renames = Object.entries(rules.rename ?? {}).map(([from, to]) => [parsePointer(from), parsePointer(to)] as const)
  const maps = Object.entries(rules.values ?? {}).map(([path, map]) => [parsePointer(path), new Map(Object.entries(map))] as const)
  const coercions = Object.entries(rules.coerce ?? {}).map(([path, coercion]) => [parsePointer(path), coercer(coercion)] as const)
  const sets = Object.entries(rules.set ?? {}).map(([path, value]) => [parsePointer(path), value] as const)
  const removals = (rules.remove ?? []).map((path) => parsePointer(path))
  const fn = rules.fn

  return (input) => {
    let body: JsonValue = structuredClone(input)
    const untranslated: Untranslated[] = []
    if (body !== null && typeof body === 'object') {
      // Take every renamed value out first, then put them back: swaps and chains stay correct.
      const moved = renames.map(([from, to]) => [to, removeAt(body, from)] as const)
      for (const [to, value] of moved) if (value !== undefined) setAt(body, to, value)
      for (const [pattern, map] of maps) {
        for (const { segments, value } of expand(body, pattern)) {
          if (value === null || typeof value === 'object') continue
          const key = String(value)
          if (map.has(key)) setAt(body, segments, map.get(key) as JsonValue)
          else untranslated.push({ path: formatPointer(segments), value, rule: 'values' })
        }
      }
      for (const [pattern, convert] of coercions) {
        for (const { segments, value } of expand(body, pattern)) {
          if (value === null) continue
          const converted = convert(value)
          if (converted === undefined) untranslated.push({ path: formatPointer(segments), value, rule: 'coerce' })
          else setAt(body, segments, converted)
        }
      }
      for (const [segments, value] of sets) setAt(body, segments, structuredClone(value))
      for (const segments of removals) removeAt(body, segments)
    }
    if (fn) {
      try {
        body = fn(body)
      } catch (err) {
        untranslated.push({ path: '', value: `translate function failed: ${(err as Error).message}`, rule: 'fn' })
      }
    }
    return { body, untranslated }
  }
}
