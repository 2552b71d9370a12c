import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { fail, type FicusError } from '../errors/errors.ts'

/** The loopback names a local admin API answers to. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const

/** Probes need no name check: they answer status, not data. */
const UNGUARDED = new Set(['/healthz', '/readyz'])
const CHANGES = new Set(['PUT', 'POST', 'DELETE', 'PATCH'])

/** `host:port`, `[v6]:port` or a bare name → the lower-case name without brackets or port. */
export function hostName(host: string): string {
  const text = host.trim().toLowerCase()
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']') === -1 ? undefined : text.indexOf(']'))
  const colon = text.lastIndexOf(':')
  return colon === -1 || text.indexOf(':') !== colon ? text : text.slice(0, colon)
}

/**
 * DNS-rebinding and cross-site defences of the admin port: a request whose Host is not one the
 * port serves gets 421 (a page on another site that rebinds its name to 127.0.0.1 cannot reach
 * the API), and a change (PUT, POST, DELETE) whose Origin is another site's gets 403 — a browser
 * always sends Origin with those; the CLI sends none.
 */
export function guardAdminOrigin(app: FastifyInstance, allowedHosts: readonly string[] | null): void {
  const allowed = allowedHosts === null ? null : new Set(allowedHosts.map(hostName))
  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    const refusal = refusalOf(request, allowed)
    done(refusal)
  })
}

/** The host a request is for: an absolute-form target's authority wins over the Host header (RFC 9112 §3.2.2). */
function targetHost(request: FastifyRequest): string {
  const absolute = /^https?:\/\/([^/?#]*)/i.exec(request.raw.url ?? '')
  return absolute?.[1] ?? request.headers.host ?? ''
}

function refusalOf(request: FastifyRequest, allowed: ReadonlySet<string> | null): FicusError | undefined {
  const path = request.url.split('?')[0] ?? ''
  if (UNGUARDED.has(path)) return undefined
  let hosts = 0
  for (let i = 0; i < request.raw.rawHeaders.length; i += 2) if (request.raw.rawHeaders[i]?.toLowerCase() === 'host') hosts += 1
  if (hosts > 1) return fail.badRequest('the request has more than one Host header', { status: 400 })
  const host = targetHost(request)
  if (allowed !== null && !allowed.has(hostName(host))) {
    return fail.adminHostRejected(`the admin API does not answer for host ${JSON.stringify(hostName(host))}`)
  }
  if (!CHANGES.has(request.method)) return undefined
  // Anything but a plain same-origin (or user-initiated "none") fetch is another site's, duplicates included.
  const fetchSite = request.headers['sec-fetch-site']
  if (fetchSite !== undefined && !['same-origin', 'none'].includes(fetchSite.trim().toLowerCase()))
    return fail.adminCrossOrigin('a change from another site is refused')
  const origin = request.headers.origin
  if (origin === undefined) return undefined
  if (typeof origin !== 'string') return fail.adminCrossOrigin('a change with more than one Origin is refused')
  let originHost: string
  try {
    originHost = new URL(origin).host
  } catch {
    return fail.adminCrossOrigin('a change with an unreadable Origin is refused')
  }
  if (originHost.toLowerCase() !== host.toLowerCase()) return fail.adminCrossOrigin(`a change from origin ${JSON.stringify(origin)} is refused`)
  return undefined
}

/** One log line per admin request: method, path without its query string, status, time. Never a token. */
export function adminRequestLog(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  request.log.info(
    { method: request.method, path: request.url.split('?')[0] ?? '', status: reply.statusCode, latencyMs: Math.round(reply.elapsedTime * 10) / 10 },
    'admin request',
  )
  done()
}
