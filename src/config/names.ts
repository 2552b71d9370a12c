import { HOP_BY_HOP } from '../http/hop-by-hop.ts'

// The name syntaxes routes.config.ts checks in more than one place.

/** Slice ids and identity map names: kebab-case, named after the business decision or entity. */
export const KEBAB_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/
export const MAX_ID_LENGTH = 64
/** RFC 9110 §5.1 field-name token. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

// Headers the gateway itself manages on the way to an upstream (RFC 9110 §7.6.1 hop-by-hop fields,
// the one list the proxy drops; framing; and lineage); a slice may not add, remove or map them.
const MANAGED_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'content-length', 'x-request-id', 'forwarded'])
const MANAGED_PREFIX = 'x-forwarded-'
/** Every `x-ficus-*` header belongs to the gateway (upstream/forward-headers.ts drops them from client requests). */
const OWNED_PREFIX = 'x-ficus-'

/** True for a header only the gateway sets on upstream calls. */
export function isManagedHeader(name: string): boolean {
  const lower = name.toLowerCase()
  return MANAGED_HEADERS.has(lower) || lower.startsWith(MANAGED_PREFIX) || lower.startsWith(OWNED_PREFIX)
}
