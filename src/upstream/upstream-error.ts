import { fail, type FicusError } from '../errors/errors.ts'

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT'])
/** Certificate verification failures (OpenSSL's names, as Node reports them). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'HOSTNAME_MISMATCH',
])
const REFUSED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
])

/**
 * The codes along an error's cause chain, outermost first: undici wraps socket errors, so the
 * useful code can sit on a cause. Errors that carry no code but say what they are by name count as
 * TIMEOUT (errors named TimeoutError) and HPE_INVALID_RESPONSE (undici's parser errors).
 */
function causeCodes(err: unknown): string[] {
  const codes: string[] = []
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string') codes.push(code)
    if (current.name === 'TimeoutError') codes.push('TIMEOUT')
    if (current.name === 'HTTPParserError') codes.push('HPE_INVALID_RESPONSE')
  }
  return codes
}

export interface UpstreamErrorContext {
  readonly upstream: string
  readonly slice: string | null
  readonly timeoutMs: number
  readonly connectTimeoutMs: number
}

/** An error from calling an upstream, as the typed gateway error the client is answered with. */
export function toUpstreamError(err: unknown, context: UpstreamErrorContext): FicusError {
  // UND_ERR is undici's generic code and TIMEOUT only a name: the specific code is further in.
  const code = causeCodes(err).find((candidate) => candidate !== 'UND_ERR' && candidate !== 'TIMEOUT') ?? 'UNKNOWN'
  const name = JSON.stringify(context.upstream)
  const details = { upstream: context.upstream, slice: context.slice, cause: code }
  if (TIMEOUT_CODES.has(code)) {
    const what =
      code === 'UND_ERR_CONNECT_TIMEOUT' ? `did not accept a connection within ${context.connectTimeoutMs} ms` : `did not answer within ${context.timeoutMs} ms`
    return fail.upstreamTimeout(`upstream ${name} ${what}`, { cause: err, details })
  }
  if (code === 'ECONNREFUSED') return fail.upstreamUnavailable(`upstream ${name} refused the connection`, { cause: err, details })
  if (REFUSED_CODES.has(code)) return fail.upstreamUnavailable(`upstream ${name} is unreachable (${code})`, { cause: err, details })
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return fail.upstreamBadResponse(`upstream ${name} sent an invalid HTTP response (${code})`, { cause: err, details })
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED') {
    return fail.badRequest('the request body did not match its content-length or ended early', { cause: err, details })
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')) {
    return fail.upstreamUnavailable(`TLS with upstream ${name} failed (${code}); see its tls settings: caFile, servername, certFile/keyFile, minVersion`, {
      cause: err,
      details,
    })
  }
  return fail.upstreamUnavailable(`call to upstream ${name} failed (${code})`, { cause: err, details })
}

/** How a call failed, in the words comparisons use (shadow-error and primary-error causes). */
export const FAILURE_CAUSES = [
  'timeout',
  'refused',
  'reset',
  '5xx',
  'breaker-open',
  'invalid-json',
  'bad-response',
  'client-closed',
  'incomplete',
  'error',
] as const
export type FailureCause = (typeof FAILURE_CAUSES)[number]

export function failureCause(err: unknown): FailureCause {
  const codes = causeCodes(err)
  if (codes.includes('EOPENBREAKER') || codes.includes('FICUS_ERR_UPSTREAM_CIRCUIT_OPEN')) return 'breaker-open'
  if (codes.includes('FICUS_ERR_CLIENT_CLOSED')) return 'client-closed'
  if (codes.some((code) => code === 'TIMEOUT' || code.endsWith('_TIMEOUT') || code === 'ETIMEDOUT' || code === 'FICUS_ERR_UPSTREAM_TIMEOUT')) return 'timeout'
  if (codes.includes('ECONNREFUSED')) return 'refused'
  if (codes.some((code) => ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_ABORTED'].includes(code))) return 'reset'
  if (codes.some((code) => code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'FICUS_ERR_UPSTREAM_BAD_RESPONSE'))
    return 'bad-response'
  return 'error'
}
