/**
 * JSON Pointer (RFC 6901) paths, as used in translation rules, ignore lists and diff entries.
 * A `*` segment in a pattern matches any one key or index.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer must start with "/" (got ${JSON.stringify(pointer)})`)
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
}

export function formatPointer(segments: readonly (string | number)[]): string {
  return segments.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')
}

export function isPointer(value: string): boolean {
  return value === '' || value.startsWith('/')
}

function isObject(value: unknown): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The value at a path, or undefined. */
export function getAt(root: JsonValue, segments: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = root
  for (const segment of segments) {
    if (Array.isArray(current)) current = current[Number(segment)]
    else if (isObject(current)) current = Object.prototype.hasOwnProperty.call(current, segment) ? current[segment] : undefined
    else return undefined
  }
  return current
}

/** Sets a value, creating objects on the way. Returns false when an array or a scalar is in the way. */
export function setAt(root: JsonValue, segments: readonly string[], value: JsonValue): boolean {
  if (segments.length === 0) return false
  let current: JsonValue = root
  for (const segment of segments.slice(0, -1)) {
    if (Array.isArray(current)) {
      const item: JsonValue | undefined = /^\d+$/.test(segment) ? current[Number(segment)] : undefined
      if (item === undefined) return false
      current = item
      continue
    }
    if (!isObject(current)) return false
    const next: JsonValue | undefined = current[segment]
    if (next === undefined) {
      const created: Record<string, JsonValue> = {}
      current[segment] = created
      current = created
    } else current = next
  }
  const last = segments.at(-1) as string
  if (isObject(current)) current[last] = value
  else if (Array.isArray(current) && /^\d+$/.test(last)) current[Number(last)] = value
  else return false
  return true
}

/** Removes the value at a path; returns it (undefined when there was none). */
export function removeAt(root: JsonValue, segments: readonly string[]): JsonValue | undefined {
  const parent = getAt(root, segments.slice(0, -1))
  const last = segments.at(-1)
  if (last === undefined || !isObject(parent) || !Object.prototype.hasOwnProperty.call(parent, last)) return undefined
  const value = parent[last]
  delete parent[last]
  return value
}

/** Every concrete path matching a pattern with `*` segments, with its value. */
export function expand(root: JsonValue, pattern: readonly string[]): { segments: string[]; value: JsonValue }[] {
  const out: { segments: string[]; value: JsonValue }[] = []
  const walk = (value: JsonValue, index: number, at: string[]): void => {
    if (index === pattern.length) {
      out.push({ segments: at, value })
      return
    }
    const segment = pattern[index] as string
    if (segment === '*') {
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, index + 1, [...at, String(i)]))
      else if (isObject(value)) for (const [key, item] of Object.entries(value)) walk(item, index + 1, [...at, key])
      return
    }
    const next = getAt(value, [segment])
    if (next !== undefined) walk(next, index + 1, [...at, segment])
  }
  walk(root, 0, [])
  return out
}

/** True when a concrete path matches a pattern: equal length, `*` matching any segment. */
export function matchesPattern(path: readonly string[], pattern: readonly string[]): boolean {
  return path.length === pattern.length && pattern.every((segment, i) => segment === '*' || segment === path[i])
}

/** True when the pattern matches the path or one of its ancestors (ignoring `/a` ignores `/a/b`). */
export function coveredBy(path: readonly string[], pattern: readonly string[]): boolean {
  return pattern.length <= path.length && matchesPattern(path.slice(0, pattern.length), pattern)
}
