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

/** A value the map could not translate: which one (never the value itself: ids can be personal). */
export interface UnmappedId {
  readonly kind: 'missing-identity' | 'identity-unavailable'
  readonly map: string
  readonly from: IdentityParam['from']
  readonly name: string
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
  const forSide = ids.filter((id) => id.side === side)
  const results = await Promise.all(
    forSide.map(async (id) => {
      const value = valueOf(id, request, query)
      if (value === undefined) return undefined
      return { id, found: await maps.lookup(id.map, side === 'modern' ? 'to-modern' : 'to-legacy', value) }
    }),
  )
  for (const result of results) {
    if (!result) continue
    const { id, found } = result
    if (found.kind !== 'found')
      return { kind: found.kind === 'missing' ? 'missing-identity' : 'identity-unavailable', map: id.map, from: id.from, name: id.name }
    if (id.from === 'param') params[id.name] = encodeURIComponent(found.id)
    else if (id.from === 'header') headers[id.name] = found.id
    else query = replaceQueryValue(query, id.name, found.id)
  }
  return { kind: 'mapped', params, query, headers }
}

/** The value to map: decoded (a path parameter or query value as the client wrote it, percent-decoded). */
function valueOf(id: IdentityParam, request: RequestValues, query: string): string | undefined {
  let value: string | undefined
  if (id.from === 'param') value = decoded(request.params[id.name])
  else if (id.from === 'header') {
    const header = request.headers[id.name]
    value = Array.isArray(header) ? header[0] : header
  } else value = new URLSearchParams(query).get(id.name) ?? undefined
  return value === undefined || value === '' ? undefined : value
}

function decoded(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** The query string with every value of `name` replaced; the other parameters stay exactly as sent. */
export function replaceQueryValue(query: string, name: string, value: string): string {
  if (query === '') return query
  const parts = query.slice(1).split('&')
  const replaced = parts.map((part) => {
    const equals = part.indexOf('=')
    const key = equals < 0 ? part : part.slice(0, equals)
    return new URLSearchParams(`${key}=`).keys().next().value === name ? `${key}=${encodeURIComponent(value)}` : part
  })
  return `?${replaced.join('&')}`
}
