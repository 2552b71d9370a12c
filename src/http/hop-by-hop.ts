/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy removes them, and
 * every field the Connection header lists, before forwarding a message in either direction.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

export type HeaderValue = string | string[] | undefined
export type Headers = Record<string, HeaderValue>
export type OutgoingHeaders = Record<string, string | string[]>

const NONE: ReadonlySet<string> = new Set()

function listedInConnection(value: HeaderValue): ReadonlySet<string> {
  if (value === undefined) return NONE
  const listed = new Set<string>()
  for (const line of Array.isArray(value) ? value : [value]) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') listed.add(name)
    }
  }
  return listed
}

/**
 * A copy of `headers` (lower-case names) without hop-by-hop fields, those `Connection` lists, the
 * names in `alsoDrop` and those starting with `dropPrefix`. Runs twice per request (each way):
 * no entry arrays, no sets made when there is nothing to put in them.
 */
export function endToEndHeaders(headers: Headers, alsoDrop: ReadonlySet<string> = NONE, dropPrefix?: string): OutgoingHeaders {
  const listed = listedInConnection(headers.connection)
  const out: OutgoingHeaders = {}
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined) continue
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || alsoDrop.has(lower)) continue
    if (dropPrefix !== undefined && lower.startsWith(dropPrefix)) continue
    out[lower] = value
  }
  return out
}
