import type { SideTarget } from '../config/types.ts'
import { endToEndHeaders, type Headers, type OutgoingHeaders } from './hop-by-hop.ts'

/** Request fields the gateway never passes on as received: it sets them itself. */
const REPLACED_ON_REQUEST = new Set(['host', 'expect', 'x-request-id'])

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
}

/** Headers for the request to an upstream: end-to-end fields of the client's request, the side's rewrite, and proxy fields. */
export function upstreamRequestHeaders(incoming: Headers, target: SideTarget, context: ForwardContext): OutgoingHeaders {
  const headers = endToEndHeaders(incoming, REPLACED_ON_REQUEST)
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
