/**
 * Every error Ficus raises on purpose has a stable `FICUS_ERR_*` code listed here, and in
 * docs/errors.md (test/errors.test.ts keeps the two in step). Codes that can reach an HTTP client
 * carry the status they are answered with.
 */
export const ERROR_CODES = {
  FICUS_ERR_CONFIG_NOT_FOUND: { status: undefined, title: 'Configuration file not found' },
  FICUS_ERR_CONFIG_LOAD: { status: undefined, title: 'Configuration file could not be loaded' },
  FICUS_ERR_CONFIG_INVALID: { status: undefined, title: 'Configuration is invalid' },
  FICUS_ERR_CONFIG_TIMEOUT: { status: undefined, title: 'Configuration file did not finish loading in time' },
  FICUS_ERR_ENV_INVALID: { status: undefined, title: 'Environment variable is invalid' },
  FICUS_ERR_CLI_USAGE: { status: undefined, title: 'Command line is invalid' },
  FICUS_ERR_LISTEN: { status: undefined, title: 'Could not listen on the configured address' },
  FICUS_ERR_DATA_DIR: { status: undefined, title: 'Data directory is unusable' },
  FICUS_ERR_AUTHORITY_STATE_CORRUPT: { status: undefined, title: 'Persisted authority state is unreadable' },
  FICUS_ERR_AUTHORITY_STATE_WRITE: { status: 503, title: 'Authority state could not be persisted' },
  FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE: { status: 503, title: 'Authority store unavailable' },
  FICUS_ERR_AUTHORITY_CONFLICT: { status: 409, title: 'Authority changed concurrently' },
  FICUS_ERR_AUTHORITY_INVALID: { status: 400, title: 'Authority change is invalid' },
  FICUS_ERR_DECISION_INVALID: { status: 400, title: 'Decision is invalid' },
  FICUS_ERR_UNKNOWN_SLICE: { status: 404, title: 'Unknown slice' },
  FICUS_ERR_EVENT_SINK_UNAVAILABLE: { status: 503, title: 'Event could not be made durable' },
  FICUS_ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FICUS_ERR_ADMIN_NOT_FOUND: { status: 404, title: 'Not found' },
  FICUS_ERR_ADMIN_HOST_REJECTED: { status: 421, title: 'Host not served here' },
  FICUS_ERR_ADMIN_CROSS_ORIGIN: { status: 403, title: 'Cross-origin change refused' },
  FICUS_ERR_ADMIN_UNREACHABLE: { status: undefined, title: 'Admin API unreachable' },
  FICUS_ERR_REPORT_SOURCE: { status: undefined, title: 'Comparisons could not be read' },
  FICUS_ERR_NOT_READY: { status: 409, title: 'Slice not ready' },
  FICUS_ERR_EVIDENCE_UNAVAILABLE: { status: 503, title: 'Readiness evidence unavailable' },
  FICUS_ERR_UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable' },
  FICUS_ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  FICUS_ERR_UPSTREAM_CIRCUIT_OPEN: { status: 503, title: 'Upstream circuit open' },
  FICUS_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, title: 'Upstream sent an invalid response' },
  FICUS_ERR_BAD_REQUEST: { status: 400, title: 'Request could not be read' },
  FICUS_ERR_PATH_REJECTED: { status: 400, title: 'Request path refused' },
  FICUS_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  FICUS_ERR_REQUEST_TIMEOUT: { status: 408, title: 'Request timed out' },
  FICUS_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  FICUS_ERR_URL_TOO_LONG: { status: 414, title: 'Request target too long' },
  FICUS_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  FICUS_ERR_UPGRADE_REFUSED: { status: 501, title: 'Upgrade not offered here' },
  FICUS_ERR_TRANSFER_CODING: { status: 501, title: 'Transfer coding not implemented' },
  FICUS_ERR_HTTP_VERSION: { status: 505, title: 'HTTP version not supported' },
  FICUS_ERR_EXPECTATION_FAILED: { status: 417, title: 'Expectation failed' },
  FICUS_ERR_CLIENT_CLOSED: { status: 499, title: 'Client closed the connection' },
  FICUS_ERR_SHUTTING_DOWN: { status: 503, title: 'Gateway is shutting down' },
  FICUS_ERR_INTERNAL: { status: 500, title: 'Internal gateway error' },
} as const satisfies Record<string, { status: number | undefined; title: string }>

export type ErrorCode = keyof typeof ERROR_CODES

export interface FicusErrorOptions {
  cause?: unknown
  /** Machine-readable context (slice id, upstream name, config path...). Never bodies or secrets. */
  details?: Record<string, unknown>
  /** Overrides the code's HTTP status (a framework 4xx such as 413 keeps its own). */
  status?: number
}

/** The one error class of Ficus: a stable code, a human message, an HTTP status where one applies. */
export class FicusError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: FicusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FicusError'
    this.code = code
    this.statusCode = options.status ?? ERROR_CODES[code].status ?? 500
    this.details = options.details ?? {}
  }
}

export function isFicusError(err: unknown): err is FicusError {
  return err instanceof FicusError
}

/** One finding of config validation: where (a dotted path into the config) and what is wrong. */
export interface ConfigIssue {
  path: string
  message: string
}

export function configInvalid(source: string, issues: readonly ConfigIssue[]): FicusError {
  const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`)
  const noun = issues.length === 1 ? 'problem' : 'problems'
  return new FicusError('FICUS_ERR_CONFIG_INVALID', `${source}: ${issues.length} ${noun}\n${lines.join('\n')}`, {
    details: { issues },
  })
}

/** A record a durable write could not put on disk (outbox full, disk error); nothing was acknowledged. */
export function eventSinkUnavailable(sink: string, reason: string, cause?: unknown): FicusError {
  return new FicusError('FICUS_ERR_EVENT_SINK_UNAVAILABLE', `the ${sink} event sink could not make the event durable: ${reason}`, { details: { sink }, ...(cause === undefined ? {} : { cause }) })
}
