import type { SideTarget } from '../config/types.ts'
import { endToEndHeaders, type Headers, type OutgoingHeaders } from '../http/hop-by-hop.ts'

/** Request fields the gateway never passes on as received: it sets them itself. */
const REPLACED_ON_REQUEST = ['host', 'expect', 'x-request-id']
/** Every header with this prefix belongs to the gateway: a client's never reaches an upstream. */
export const OWNED_PREFIX = 'x-ficus-'

/** The names a client request loses on the way (besides hop-by-hop and `x-ficus-*`): the gateway's own. */
export function droppedRequestHeaders(owned: ReadonlySet<string>): ReadonlySet<string> {
  return new Set([...REPLACED_ON_REQUEST, ...owned])
}

export interface ForwardContext {
  readonly requestId: string
  /** The address of the peer that connected to the gateway (appended to x-forwarded-for). */
  readonly peerAddress: string | undefined
  /**
   * Scheme and host the client used. With `trustProxy` these come from the x-forwarded-* fields
   * of the proxy in front (fastify's `request.protocol` / `request.host`), so they pass through.
   */
  readonly protocol: string
  readonly host: string | undefined
  /** From `droppedRequestHeaders(config.ownedHeaders)`: computed once. */
  readonly dropped: ReadonlySet<string>
}

/** Headers for the request to an upstream: end-to-end fields of the client's request, the side's rewrite, and proxy fields. */
export function upstreamRequestHeaders(incoming: Headers, target: SideTarget, context: ForwardContext): OutgoingHeaders {
  // The client's headers minus hop-by-hop fields and everything the gateway owns: no client can
  // mark its request as shadow traffic or a dry run, or speak for a slice or its authority.
  const headers = endToEndHeaders(incoming, context.dropped, OWNED_PREFIX)
  for (const name of target.removeHeaders) delete headers[name]

  const forwardedFor = headers['x-forwarded-for']
  const chain = Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor
  const peer = context.peerAddress ?? 'unknown'
  headers['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer
  headers['x-forwarded-proto'] = context.protocol
  if (context.host === undefined) delete headers['x-forwarded-host']
  else headers['x-forwarded-host'] = context.host
  headers['x-request-id'] = context.requestId
  Object.assign(headers, target.addHeaders)
  return headers
}

/** Headers of the upstream's response as the client gets them: end-to-end fields only. */
export function clientResponseHeaders(upstream: Headers): OutgoingHeaders {
  return endToEndHeaders(upstream)
}
