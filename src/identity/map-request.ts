import type { Side } from '../config/schema.ts'
import type { IdentityParam } from '../config/types.ts'
import type { IdentityMaps } from './identity-maps.ts'

/** The request values one side's call is made with, after its ids were mapped. */
export interface MappedRequest {
  readonly kind: 'mapped'
  /** Path parameters, percent-encoded as matched. */
  readonly params: Readonly<Record<string, string>>
  /** The query string with its leading `?`, or `''`. */
  readonly query: string
  /** Lower-case header names set to mapped values. */
  readonly headers: Readonly<Record<string, string>>
}

/** A value the map could not translate: which one (never the value itself: ids can be personal), and why. */
export interface UnmappedId {
  readonly kind: 'missing-identity' | 'identity-unavailable'
  readonly map: string
  readonly from: IdentityParam['from']
  readonly name: string
  /** Why a mapping there could not be used (a character the place cannot carry), or why the map did not answer. */
  readonly reason?: string
}

export interface RequestValues {
  readonly params: Readonly<Record<string, string>>
  readonly query: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/**
 * Maps the request values a route declares (`ids`) for one side's call: each value the client sent
 * is looked up (in parallel) and replaced by the other side's id. Values the request does not carry
 * stay absent. Unchanged when the route maps nothing for this side.
 */
export async function mapRequestIds(
  maps: IdentityMaps,
  ids: readonly IdentityParam[],
  side: Side,
  request: RequestValues,
): Promise<MappedRequest | UnmappedId> {
  const params = { ...request.params }
  const headers: Record<string, string> = {}
  let query = request.query
  const direction = side === 'modern' ? 'to-modern' : 'to-legacy'
  const forSide = ids.filter((id) => id.side === side)
  // Every value of a repeated query parameter is mapped on its own.
  const results = await Promise.all(
    forSide.map(async (id) => ({ id, found: await Promise.all(valuesOf(id, request).map((value) => maps.lookup(id.map, direction, value))) })),
  )
  for (const { id, found } of results) {
    const unmapped = found.find((lookup) => lookup.kind !== 'found')
    const mapped = found.flatMap((lookup) => (lookup.kind === 'found' ? [lookup.id] : []))
    const unusable = unmapped ? undefined : mapped.map((value) => unusableIn(id.from, value)).find((problem) => problem !== undefined)
    if (unmapped || unusable) {
      const reason = unusable ?? (unmapped && 'reason' in unmapped ? unmapped.reason : undefined)
      const kind = unmapped?.kind === 'unavailable' ? 'identity-unavailable' : 'missing-identity'
      return { kind, map: id.map, from: id.from, name: id.name, ...(reason === undefined ? {} : { reason }) }
    }
    const [first] = mapped
    if (first === undefined) continue
    if (id.from === 'param') params[id.name] = encodeURIComponent(first)
    else if (id.from === 'header') headers[id.name] = first
    else query = replaceQueryValues(query, id.name, mapped)
  }
  return { kind: 'mapped', params, query, headers }
}

/**
 * Why a mapped id cannot go where the value was, or undefined when it can: a path segment that is a
 * dot segment or holds a slash (an encoded slash or dot segment is what the front door refuses from
 * clients: it could escape the rewrite), a header value outside printable ASCII.
 */
function unusableIn(place: IdentityParam['from'], id: string): string | undefined {
  if (place === 'param' && (id === '.' || id === '..' || /[/\\]/.test(id)))
    return 'the mapped id is a dot segment or holds a slash, which a path segment cannot carry'
  if (place === 'header' && !/^[\x20-\x7e]*$/.test(id)) return 'the mapped id holds characters a header value cannot carry'
  return undefined
}

/** The values to map: decoded (a path parameter or query value as the client wrote it, percent-decoded); none when absent. */
function valuesOf(id: IdentityParam, request: RequestValues): string[] {
  let values: (string | undefined)[]
  if (id.from === 'param') values = [decoded(request.params[id.name])]
  else if (id.from === 'header') {
    const header = request.headers[id.name]
    values = [Array.isArray(header) ? header[0] : header]
  } else values = new URLSearchParams(request.query).getAll(id.name)
  return values.filter((value): value is string => value !== undefined && value !== '')
}

function decoded(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/**
 * The query string with the values of `name` replaced in order (the n-th occurrence by the n-th
 * value; empty ones, which were not mapped, stay); the other parameters stay exactly as sent.
 */
export function replaceQueryValues(query: string, name: string, values: readonly string[]): string {
  if (query === '') return query
  let next = 0
  const replaced = query
    .slice(1)
    .split('&')
    .map((part) => {
      const equals = part.indexOf('=')
      const key = equals < 0 ? part : part.slice(0, equals)
      if (new URLSearchParams(`${key}=`).keys().next().value !== name) return part
      if (equals < 0 || part.length === equals + 1) return part
      const value = values[next++]
      return value === undefined ? part : `${key}=${encodeURIComponent(value)}`
    })
  return `?${replaced.join('&')}`
}
