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
  FICUS_ERR_CAPTURE_KEY_MISSING: { status: undefined, title: 'Capture key missing' },
  FICUS_ERR_CAPTURE_KEY_INVALID: { status: undefined, title: 'Capture key invalid' },
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
  FICUS_ERR_REPLAY_UNREADABLE: { status: undefined, title: 'No captured pair could be read' },
  FICUS_ERR_RECONCILE_KEYS: { status: undefined, title: 'Reconciliation keys could not be read' },
  FICUS_ERR_RECONCILE_ROUTE: { status: undefined, title: 'Reconciliation route could not be chosen' },
  FICUS_ERR_RECONCILE_RESUME: { status: undefined, title: 'Reconciliation run cannot be resumed' },
  FICUS_ERR_RECONCILE_BUSY: { status: undefined, title: 'Another reconciliation run is under way' },
  FICUS_ERR_UNKNOWN_RUN: { status: undefined, title: 'Unknown reconciliation run' },
  FICUS_ERR_NOT_READY: { status: 409, title: 'Slice not ready' },
  FICUS_ERR_EVIDENCE_UNAVAILABLE: { status: 503, title: 'Readiness evidence unavailable' },
  FICUS_ERR_REGISTER_UNAVAILABLE: { status: 503, title: 'Discrepancy register unavailable' },
  FICUS_ERR_IDENTITY_MAP_UNREADABLE: { status: undefined, title: 'Identity map could not be read' },
  FICUS_ERR_IDENTITY_MISSING: { status: 404, title: 'No mapped identity' },
  FICUS_ERR_IDENTITY_UNAVAILABLE: { status: 503, title: 'Identity map unavailable' },
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

/** FICUS_ERR_UNKNOWN_SLICE → unknownSlice: the factory's name for a code. */
type FactoryName<Code extends string> = Code extends `FICUS_ERR_${infer Rest}` ? CamelCase<Lowercase<Rest>> : never
type CamelCase<Text extends string> = Text extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : Text
/**
 * One factory per error code: `throw fail.unknownSlice(...)` names what went wrong where
 * `new FicusError('FICUS_ERR_UNKNOWN_SLICE', ...)` would spell a code. Call sites use these; the
 * class is built directly only where the code itself is data (an admin answer, a schema's
 * annotation). test/errors.test.ts checks that every code has its factory.
 */
export const fail = {
  /** FICUS_ERR_CONFIG_NOT_FOUND: Configuration file not found. */
  configNotFound: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CONFIG_NOT_FOUND', message, options),
  /** FICUS_ERR_CONFIG_LOAD: Configuration file could not be loaded. */
  configLoad: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CONFIG_LOAD', message, options),
  /** FICUS_ERR_CONFIG_INVALID: Configuration is invalid. */
  configInvalid: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CONFIG_INVALID', message, options),
  /** FICUS_ERR_CONFIG_TIMEOUT: Configuration file did not finish loading in time. */
  configTimeout: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CONFIG_TIMEOUT', message, options),
  /** FICUS_ERR_ENV_INVALID: Environment variable is invalid. */
  envInvalid: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ENV_INVALID', message, options),
  /** FICUS_ERR_CLI_USAGE: Command line is invalid. */
  cliUsage: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CLI_USAGE', message, options),
  /** FICUS_ERR_LISTEN: Could not listen on the configured address. */
  listen: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_LISTEN', message, options),
  /** FICUS_ERR_DATA_DIR: Data directory is unusable. */
  dataDir: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_DATA_DIR', message, options),
  /** FICUS_ERR_CAPTURE_KEY_MISSING: Capture key missing. */
  captureKeyMissing: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CAPTURE_KEY_MISSING', message, options),
  /** FICUS_ERR_CAPTURE_KEY_INVALID: Capture key invalid. */
  captureKeyInvalid: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CAPTURE_KEY_INVALID', message, options),
  /** FICUS_ERR_AUTHORITY_STATE_CORRUPT: Persisted authority state is unreadable. */
  authorityStateCorrupt: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_AUTHORITY_STATE_CORRUPT', message, options),
  /** FICUS_ERR_AUTHORITY_STATE_WRITE: Authority state could not be persisted. */
  authorityStateWrite: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_AUTHORITY_STATE_WRITE', message, options),
  /** FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE: Authority store unavailable. */
  authorityStoreUnavailable: (message: string, options?: FicusErrorOptions): FicusError =>
    new FicusError('FICUS_ERR_AUTHORITY_STORE_UNAVAILABLE', message, options),
  /** FICUS_ERR_AUTHORITY_CONFLICT: Authority changed concurrently. */
  authorityConflict: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_AUTHORITY_CONFLICT', message, options),
  /** FICUS_ERR_AUTHORITY_INVALID: Authority change is invalid. */
  authorityInvalid: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_AUTHORITY_INVALID', message, options),
  /** FICUS_ERR_DECISION_INVALID: Decision is invalid. */
  decisionInvalid: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_DECISION_INVALID', message, options),
  /** FICUS_ERR_UNKNOWN_SLICE: Unknown slice. */
  unknownSlice: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UNKNOWN_SLICE', message, options),
  /** FICUS_ERR_EVENT_SINK_UNAVAILABLE: Event could not be made durable. */
  eventSinkUnavailable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_EVENT_SINK_UNAVAILABLE', message, options),
  /** FICUS_ERR_ADMIN_UNAUTHORIZED: Unauthorized. */
  adminUnauthorized: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ADMIN_UNAUTHORIZED', message, options),
  /** FICUS_ERR_ADMIN_NOT_FOUND: Not found. */
  adminNotFound: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ADMIN_NOT_FOUND', message, options),
  /** FICUS_ERR_ADMIN_HOST_REJECTED: Host not served here. */
  adminHostRejected: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ADMIN_HOST_REJECTED', message, options),
  /** FICUS_ERR_ADMIN_CROSS_ORIGIN: Cross-origin change refused. */
  adminCrossOrigin: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ADMIN_CROSS_ORIGIN', message, options),
  /** FICUS_ERR_ADMIN_UNREACHABLE: Admin API unreachable. */
  adminUnreachable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_ADMIN_UNREACHABLE', message, options),
  /** FICUS_ERR_REPORT_SOURCE: Comparisons could not be read. */
  reportSource: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_REPORT_SOURCE', message, options),
  /** FICUS_ERR_REPLAY_UNREADABLE: No captured pair could be read. */
  replayUnreadable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_REPLAY_UNREADABLE', message, options),
  /** FICUS_ERR_RECONCILE_KEYS: Reconciliation keys could not be read. */
  reconcileKeys: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_RECONCILE_KEYS', message, options),
  /** FICUS_ERR_RECONCILE_ROUTE: Reconciliation route could not be chosen. */
  reconcileRoute: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_RECONCILE_ROUTE', message, options),
  /** FICUS_ERR_RECONCILE_BUSY: Another reconciliation run is under way. */
  reconcileBusy: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_RECONCILE_BUSY', message, options),
  /** FICUS_ERR_RECONCILE_RESUME: Reconciliation run cannot be resumed. */
  reconcileResume: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_RECONCILE_RESUME', message, options),
  /** FICUS_ERR_UNKNOWN_RUN: Unknown reconciliation run. */
  unknownRun: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UNKNOWN_RUN', message, options),
  /** FICUS_ERR_NOT_READY: Slice not ready. */
  notReady: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_NOT_READY', message, options),
  /** FICUS_ERR_REGISTER_UNAVAILABLE: Discrepancy register unavailable. */
  registerUnavailable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_REGISTER_UNAVAILABLE', message, options),
  /** FICUS_ERR_EVIDENCE_UNAVAILABLE: Readiness evidence unavailable. */
  evidenceUnavailable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_EVIDENCE_UNAVAILABLE', message, options),
  /** FICUS_ERR_IDENTITY_MAP_UNREADABLE: Identity map could not be read. */
  identityMapUnreadable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_IDENTITY_MAP_UNREADABLE', message, options),
  /** FICUS_ERR_IDENTITY_MISSING: No mapped identity. */
  identityMissing: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_IDENTITY_MISSING', message, options),
  /** FICUS_ERR_IDENTITY_UNAVAILABLE: Identity map unavailable. */
  identityUnavailable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_IDENTITY_UNAVAILABLE', message, options),
  /** FICUS_ERR_UPSTREAM_UNAVAILABLE: Upstream unavailable. */
  upstreamUnavailable: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UPSTREAM_UNAVAILABLE', message, options),
  /** FICUS_ERR_UPSTREAM_TIMEOUT: Upstream timed out. */
  upstreamTimeout: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UPSTREAM_TIMEOUT', message, options),
  /** FICUS_ERR_UPSTREAM_CIRCUIT_OPEN: Upstream circuit open. */
  upstreamCircuitOpen: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UPSTREAM_CIRCUIT_OPEN', message, options),
  /** FICUS_ERR_UPSTREAM_BAD_RESPONSE: Upstream sent an invalid response. */
  upstreamBadResponse: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UPSTREAM_BAD_RESPONSE', message, options),
  /** FICUS_ERR_BAD_REQUEST: Request could not be read. */
  badRequest: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_BAD_REQUEST', message, options),
  /** FICUS_ERR_PATH_REJECTED: Request path refused. */
  pathRejected: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_PATH_REJECTED', message, options),
  /** FICUS_ERR_METHOD_NOT_ALLOWED: Method not allowed. */
  methodNotAllowed: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_METHOD_NOT_ALLOWED', message, options),
  /** FICUS_ERR_REQUEST_TIMEOUT: Request timed out. */
  requestTimeout: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_REQUEST_TIMEOUT', message, options),
  /** FICUS_ERR_BODY_TOO_LARGE: Request body too large. */
  bodyTooLarge: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_BODY_TOO_LARGE', message, options),
  /** FICUS_ERR_URL_TOO_LONG: Request target too long. */
  urlTooLong: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_URL_TOO_LONG', message, options),
  /** FICUS_ERR_HEADERS_TOO_LARGE: Request header fields too large. */
  headersTooLarge: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_HEADERS_TOO_LARGE', message, options),
  /** FICUS_ERR_UPGRADE_REFUSED: Upgrade not offered here. */
  upgradeRefused: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_UPGRADE_REFUSED', message, options),
  /** FICUS_ERR_TRANSFER_CODING: Transfer coding not implemented. */
  transferCoding: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_TRANSFER_CODING', message, options),
  /** FICUS_ERR_HTTP_VERSION: HTTP version not supported. */
  httpVersion: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_HTTP_VERSION', message, options),
  /** FICUS_ERR_EXPECTATION_FAILED: Expectation failed. */
  expectationFailed: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_EXPECTATION_FAILED', message, options),
  /** FICUS_ERR_CLIENT_CLOSED: Client closed the connection. */
  clientClosed: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_CLIENT_CLOSED', message, options),
  /** FICUS_ERR_SHUTTING_DOWN: Gateway is shutting down. */
  shuttingDown: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_SHUTTING_DOWN', message, options),
  /** FICUS_ERR_INTERNAL: Internal gateway error. */
  internal: (message: string, options?: FicusErrorOptions): FicusError => new FicusError('FICUS_ERR_INTERNAL', message, options),
} as const satisfies { readonly [Name in FactoryName<ErrorCode>]: (message: string, options?: FicusErrorOptions) => FicusError }

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
  return new FicusError('FICUS_ERR_EVENT_SINK_UNAVAILABLE', `the ${sink} event sink could not make the event durable: ${reason}`, {
    details: { sink },
    ...(cause === undefined ? {} : { cause }),
  })
}
