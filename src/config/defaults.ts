import type { Side } from '../model/sides.ts'
import type { BreakerConfig } from './types.ts'

// Every default of routes.config.ts, in one place: the schema's doc comments (schema.ts) name them,
// validate.ts applies them.

export const DEFAULT_GATEWAY_NAME = 'ficus'
export const DEFAULT_FALLTHROUGH: Side = 'legacy'
export const DEFAULT_RESPONSE_HEADERS = { slice: true, authority: true } as const
export const DEFAULT_TRUST_PROXY = false
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000
export const DEFAULT_BODY_TIMEOUT_MS = 30_000
export const DEFAULT_UPSTREAM_CONNECTIONS = 64
export const DEFAULT_RETRY_IDEMPOTENT = true
// Client traffic: connection failures and timeouts only, by default — an upstream's 5xx on one URL
// is an answer, and must not close the breaker on every other URL of the slice.
export const DEFAULT_PRIMARY_BREAKER: BreakerConfig = {
  countServerErrors: false,
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  resetTimeoutMs: 10_000,
  rollingWindowMs: 10_000,
}
export const DEFAULT_SHADOW_BREAKER: BreakerConfig = {
  countServerErrors: true,
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 30_000,
  rollingWindowMs: 10_000,
}
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
/**
 * Comparison events are keyed by entity (the request id when a request names none), so one slice
 * spreads over every partition and every reporter: see docs/events.md for the ordering it gives up.
 */
export const DEFAULT_EVENT_KEY = 'entity'
export const DEFAULT_WEBSOCKET = true
export const DEFAULT_SHADOW_SAMPLE_PERCENT = 100
export const DEFAULT_SHADOW_TIMEOUT_MS = 5_000
export const DEFAULT_SHADOW_CONCURRENCY = 32
export const DEFAULT_SHADOW_QUEUE = 128
/** How often the skips counted instead of recorded are published (ShadowSkips events). */
export const DEFAULT_SHADOW_SKIPS_INTERVAL_MS = 10_000
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024
export const DEFAULT_MAX_RESPONSE_BODY_BYTES = 5 * 1024 * 1024
export const DEFAULT_COMPARED_HEADERS = ['content-type'] as const
export const DEFAULT_COMPARE_ERROR_BODIES = false
export const DEFAULT_PUBLISH_VALUES = false
/** Front-door limits: what a client may send before the gateway answers an error of its own. */
export const DEFAULT_LIMITS = {
  maxHeaderCount: 100,
  maxHeaderBytes: 16 * 1024,
  maxUrlLength: 8 * 1024,
  maxBodyBytes: 10 * 1024 * 1024,
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
} as const
export const DEFAULT_REASK_FACTOR = 2
export const DEFAULT_REASK_MAX_MS = 2_000
/** Redis identity lookups remembered: entries, found ids' and misses' lifetimes. */
export const DEFAULT_IDENTITY_CACHE = { entries: 10_000, ttlMs: 60_000, missTtlMs: 5_000 } as const
export const DEFAULT_IDENTITY_LOOKUP_TIMEOUT_MS = 50
export const DEFAULT_MISSING_IDENTITY = 'error'
/** The drift alarm of a slice that moved: agreement percent, window, samples. */
export const DEFAULT_DRIFT = { minAgreementPercent: 99, windowHours: 1, minSamples: 50 } as const
/** Captured pairs: share of shadowed requests (percent), how long they are kept, bytes per slice, where. */
export const DEFAULT_CAPTURE_PERCENT = 100
export const DEFAULT_CAPTURE_RETENTION_HOURS = 72
export const MAX_CAPTURE_RETENTION_HOURS = 720
export const DEFAULT_CAPTURE_MAX_BYTES = 256 * 1024 * 1024
export const DEFAULT_CAPTURE_STORE = 'data-dir'
/** Reconciliation runs: keys a second, keys in flight, agreement percent and error percent a run must meet. */
export const DEFAULT_RECONCILE = { ratePerSecond: 10, concurrency: 2, minAgreementPercent: 99, maxErrorPercent: 1 } as const
export const DEFAULT_DRY_RUN_HEADER = { name: 'x-ficus-shadow', value: 'dry-run' } as const
// Readiness defaults: DEFAULT_READINESS (readiness-thresholds.ts, the report reads them too);
// noise defaults: DEFAULT_NOISE (compare/noise-evidence.ts, below this layer).
