import type { GatewayConfig, RouteConfig, SliceConfig } from '../config/types.ts'
import { WILDCARD_PARAM } from '../config/path-template.ts'

/** The slice and route a request belongs to, with its path parameters (still percent-encoded). */
export interface RouteMatch {
  readonly slice: SliceConfig
  readonly route: RouteConfig
  readonly params: Readonly<Record<string, string>>
}

interface Entry {
  readonly slice: SliceConfig
  readonly route: RouteConfig
  readonly names: readonly string[]
}

interface Node {
  readonly statics: Map<string, Node>
  param: Node | undefined
  readonly wildcard: Map<string, Entry>
  readonly routes: Map<string, Entry>
}

function node(): Node {
  return { statics: new Map(), param: undefined, wildcard: new Map(), routes: new Map() }
}

/**
 * A value may stand for a path parameter only if it cannot change the shape of the upstream path
 * once substituted into a rewrite: no encoded "/" or "\", no dot segment, valid percent-encoding.
 */
function safeSegment(raw: string): boolean {
  if (raw === '') return false
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return false
  }
  return decoded !== '.' && decoded !== '..' && !decoded.includes('/') && !decoded.includes('\\')
}

/**
 * Request → slice. A segment trie per path shape: at each segment a literal beats a parameter,
 * which beats a trailing wildcard. HEAD requests use a GET route when no HEAD route is declared.
 */
export class RouteTable {
  readonly #root = node()

  constructor(config: Pick<GatewayConfig, 'slices'>) {
    for (const slice of config.slices) {
      for (const route of slice.routes) this.#add(slice, route)
    }
  }

  #add(slice: SliceConfig, route: RouteConfig): void {
    let current = this.#root
    const names: string[] = []
    for (const segment of route.path.segments) {
      if (segment.kind === 'static') {
        let next = current.statics.get(segment.value)
        if (!next) current.statics.set(segment.value, (next = node()))
        current = next
      } else if (segment.kind === 'param') {
        current.param ??= node()
        current = current.param
        names.push(segment.name)
      } else {
        names.push(WILDCARD_PARAM)
        current.wildcard.set(route.method, { slice, route, names })
        return
      }
    }
    current.routes.set(route.method, { slice, route, names })
  }

  /** Matches a raw request path (no query string). */
  match(method: string, path: string): RouteMatch | undefined {
    const segments = path === '/' ? [] : path.slice(1).split('/')
    const values: string[] = []
    const found = this.#walk(this.#root, segments, 0, method, values) ?? (method === 'HEAD' ? this.#walk(this.#root, segments, 0, 'GET', values) : undefined)
    if (!found) return undefined
    const params: Record<string, string> = {}
    found.entry.names.forEach((name, index) => {
      params[name] = found.values[index] ?? ''
    })
    return { slice: found.entry.slice, route: found.entry.route, params }
  }

  #walk(current: Node, segments: readonly string[], index: number, method: string, values: string[]): { entry: Entry; values: string[] } | undefined {
    if (index === segments.length) {
      const entry = current.routes.get(method)
      return entry ? { entry, values: [...values] } : undefined
    }
    const segment = segments[index] ?? ''
    const literal = current.statics.get(segment)
    if (literal) {
      const found = this.#walk(literal, segments, index + 1, method, values)
      if (found) return found
    }
    if (current.param && safeSegment(segment)) {
      values.push(segment)
      const found = this.#walk(current.param, segments, index + 1, method, values)
      values.pop()
      if (found) return found
    }
    const wildcard = current.wildcard.get(method)
    if (wildcard) {
      const rest = segments.slice(index)
      if (rest.every((part) => part === '' || safeSegment(part))) return { entry: wildcard, values: [...values, rest.join('/')] }
    }
    return undefined
  }
}
