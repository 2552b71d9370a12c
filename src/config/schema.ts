import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { ModelRules } from '../compare/model-rules.ts'
import type { TranslationRules } from '../compare/translate.ts'
import type { Authority } from '../model/authority-value.ts'
import { SIDES, type Side } from '../model/sides.ts'

export { SIDES, type Side }

/** Methods a slice route may claim. HEAD requests also match a GET route unless a HEAD route exists. */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type RouteMethod = (typeof ROUTE_METHODS)[number]

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000
export const DEFAULT_BODY_TIMEOUT_MS = 30_000
export const DEFAULT_UPSTREAM_CONNECTIONS = 64
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
export const DEFAULT_SHADOW_TIMEOUT_MS = 5_000
export const DEFAULT_SHADOW_CONCURRENCY = 32
export const DEFAULT_SHADOW_QUEUE = 128
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024
export const DEFAULT_MAX_RESPONSE_BODY_BYTES = 5 * 1024 * 1024
export const DEFAULT_COMPARED_HEADERS = ['content-type'] as const
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
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const
export const DEFAULT_REASK_FACTOR = 2
export const DEFAULT_REASK_MAX_MS = 2_000
export const DEFAULT_DRY_RUN_HEADER = { name: 'x-ficus-shadow', value: 'dry-run' } as const

const strict = { additionalProperties: false } as const

function literals(values: readonly string[]): TSchema {
  return Type.Union(values.map((value) => Type.Literal(value)))
}

const SideSchema = literals(SIDES)

const HeaderRewriteSchema = Type.Object(
  {
    add: Type.Optional(Type.Record(Type.String(), Type.String())),
    remove: Type.Optional(Type.Array(Type.String())),
  },
  strict,
)

const SliceSideSchema = Type.Object(
  {
    upstream: Type.Optional(Type.String({ minLength: 1 })),
    headers: Type.Optional(HeaderRewriteSchema),
  },
  strict,
)

const BreakerSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    countServerErrors: Type.Optional(Type.Boolean()),
    errorThresholdPercentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    volumeThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
    resetTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    rollingWindowMs: Type.Optional(Type.Integer({ minimum: 100 })),
  },
  strict,
)

const TranslationRulesSchema = Type.Object(
  {
    rename: Type.Optional(Type.Record(Type.String(), Type.String())),
    values: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
    coerce: Type.Optional(Type.Record(Type.String(), Type.String())),
    set: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    remove: Type.Optional(Type.Array(Type.String())),
    // The escape hatch: checked to be a function during validation.
    fn: Type.Optional(Type.Unknown()),
  },
  strict,
)

const WriteSafetySchema = Type.Object(
  {
    dryRunHeader: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ minLength: 1 })), value: Type.Optional(Type.String({ minLength: 1 })) }, strict)),
    sandbox: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
)

const ShadowSchema = Type.Object(
  {
    sample: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    maxRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    maxResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    writes: Type.Optional(
      Type.Object(
        {
          dryRunHeader: Type.Optional(WriteSafetySchema.properties.dryRunHeader),
          sandbox: Type.Optional(Type.String({ minLength: 1 })),
          legacy: Type.Optional(WriteSafetySchema),
          modern: Type.Optional(WriteSafetySchema),
        },
        strict,
      ),
    ),
    reask: Type.Optional(
      Type.Object(
        {
          delayMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
          maxMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 300_000 })),
          factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
        },
        strict,
      ),
    ),
    noise: Type.Optional(
      Type.Object(
        {
          sample: Type.Number({ minimum: 0, maximum: 100 }),
          minSelfDifferences: Type.Optional(Type.Integer({ minimum: 1 })),
          minRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
          windowMs: Type.Optional(Type.Integer({ minimum: 1_000 })),
          ttlMs: Type.Optional(Type.Integer({ minimum: 1_000 })),
        },
        strict,
      ),
    ),
  },
  strict,
)

const CompareSchema = Type.Object(
  {
    headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    ignore: Type.Optional(Type.Array(Type.String())),
    numericTolerance: Type.Optional(Type.Number({ minimum: 0 })),
    unorderedArrays: Type.Optional(Type.Array(Type.Object({ path: Type.String(), key: Type.Optional(Type.String({ minLength: 1 })) }, strict))),
    timestampToleranceMs: Type.Optional(Type.Integer({ minimum: 0 })),
    errorBodies: Type.Optional(Type.Boolean()),
    values: Type.Optional(Type.Object({ include: Type.Boolean(), redact: Type.Optional(Type.Array(Type.String())) }, strict)),
    clearKeys: Type.Optional(Type.Array(Type.String())),
    clearUntranslated: Type.Optional(Type.Array(Type.String())),
    critical: Type.Optional(Type.Array(Type.String())),
    model: Type.Optional(
      Type.Object(
        {
          required: Type.Optional(Type.Array(Type.String())),
          values: Type.Optional(Type.Record(Type.String(), Type.Array(Type.Unknown()))),
          formats: Type.Optional(Type.Record(Type.String(), Type.String())),
          ranges: Type.Optional(Type.Record(Type.String(), Type.Object({ min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }, strict))),
          schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        },
        strict,
      ),
    ),
  },
  strict,
)

const ReadinessSchema = Type.Object(
  {
    minSamples: Type.Optional(Type.Integer({ minimum: 0 })),
    minMatchRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxConflictRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxShadowErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxTranslationDefectRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxSourceDataDefectRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxNotComparedRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxLagRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    maxLagP95Ms: Type.Optional(Type.Number({ minimum: 0 })),
    windowDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 366 })),
    latency: Type.Optional(
      Type.Union([Type.Literal(false), Type.Object({ percentile: Type.Optional(Type.Union([Type.Literal(50), Type.Literal(95), Type.Literal(99)])), maxRatio: Type.Optional(Type.Number({ minimum: 0 })) }, strict)]),
    ),
    minSoakHours: Type.Optional(Type.Number({ minimum: 0 })),
  },
  strict,
)

const TranslateSchema = Type.Object(
  {
    version: Type.String({ minLength: 1 }),
    legacy: Type.Optional(TranslationRulesSchema),
    modern: Type.Optional(TranslationRulesSchema),
  },
  strict,
)

const RouteSchema = Type.Object(
  {
    method: literals(ROUTE_METHODS),
    path: Type.String(),
    rewrite: Type.Optional(
      Type.Object({ legacy: Type.Optional(Type.String()), modern: Type.Optional(Type.String()) }, strict),
    ),
  },
  strict,
)

const StickyKeySchema = Type.Object(
  {
    param: Type.Optional(Type.String({ minLength: 1 })),
    header: Type.Optional(Type.String({ minLength: 1 })),
    query: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
)

const SliceSchema = Type.Object(
  {
    description: Type.String({ minLength: 1 }),
    // "legacy", "modern" or "N%": checked with the same parser the admin API uses.
    authority: Type.String(),
    stickyKey: Type.Optional(StickyKeySchema),
    entityKey: Type.Optional(StickyKeySchema),
    eventKey: Type.Optional(literals(['slice', 'entity'])),
    websocket: Type.Optional(Type.Boolean()),
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    legacy: Type.Optional(SliceSideSchema),
    modern: Type.Optional(SliceSideSchema),
    shadow: Type.Optional(ShadowSchema),
    compare: Type.Optional(CompareSchema),
    translate: Type.Optional(TranslateSchema),
    readiness: Type.Optional(ReadinessSchema),
  },
  strict,
)

const UpstreamSchema = Type.Object(
  {
    url: Type.String(),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    bodyTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    breaker: Type.Optional(Type.Object({ primary: Type.Optional(BreakerSchema), shadow: Type.Optional(BreakerSchema) }, strict)),
    retry: Type.Optional(Type.Object({ idempotent: Type.Optional(Type.Boolean()) }, strict)),
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(Type.String({ minLength: 1 })),
          certFile: Type.Optional(Type.String({ minLength: 1 })),
          keyFile: Type.Optional(Type.String({ minLength: 1 })),
          servername: Type.Optional(Type.String({ minLength: 1 })),
          minVersion: Type.Optional(literals(TLS_VERSIONS)),
          insecureSkipVerify: Type.Optional(Type.Boolean()),
        },
        strict,
      ),
    ),
  },
  strict,
)

const GatewaySettingsSchema = Type.Object(
  {
    fallthrough: Type.Optional(SideSchema),
    responseHeaders: Type.Optional(
      Type.Object({ slice: Type.Optional(Type.Boolean()), authority: Type.Optional(Type.Boolean()) }, strict),
    ),
    trustProxy: Type.Optional(Type.Boolean()),
    shutdownTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    shadow: Type.Optional(Type.Object({ concurrency: Type.Optional(Type.Integer({ minimum: 1 })), queue: Type.Optional(Type.Integer({ minimum: 0 })) }, strict)),
    ownedHeaders: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    limits: Type.Optional(
      Type.Object(
        {
          maxHeaderCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          maxHeaderBytes: Type.Optional(Type.Integer({ minimum: 1_024, maximum: 1024 * 1024 })),
          maxUrlLength: Type.Optional(Type.Integer({ minimum: 64, maximum: 1024 * 1024 })),
          maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
          headerTimeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
          requestTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
          keepAliveTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        strict,
      ),
    ),
  },
  strict,
)

/** JSON Schema of routes.config.ts (before defaults and cross-reference checks). */
export const GatewayConfigSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1 })),
    version: Type.Optional(Type.String({ minLength: 1 })),
    gateway: Type.Optional(GatewaySettingsSchema),
    sides: Type.Object({ legacy: Type.String({ minLength: 1 }), modern: Type.String({ minLength: 1 }) }, strict),
    upstreams: Type.Record(Type.String(), UpstreamSchema),
    slices: Type.Record(Type.String(), SliceSchema),
    readiness: Type.Optional(ReadinessSchema),
  },
  strict,
)

type Input<T extends TSchema> = Static<T>

/** A route of a slice: the client-facing method and path template, and the path each side is called with. */
export interface RouteInput {
  method: RouteMethod
  /** Client-facing path template, e.g. `/pas/v1/policy/:polNo/status`. */
  path: string
  /** Path template per side; defaults to `path`. May use the parameters `path` declares. */
  rewrite?: { legacy?: string; modern?: string }
}

/** How one side of a slice is called. */
export interface SliceSideInput {
  /** Upstream name; defaults to the gateway-wide upstream of that side (`sides`). */
  upstream?: string
  headers?: { add?: Record<string, string>; remove?: string[] }
}

/** Where a percentage rollout finds the key it buckets a request by (exactly one of these). */
export interface StickyKeyInput {
  /** A path parameter every route of the slice declares, e.g. `policyNumber`. */
  param?: string
  /** A request header, e.g. `x-customer-id`. */
  header?: string
  /** A query parameter. */
  query?: string
}

/** Circuit breaker of one kind of traffic to one upstream (opossum). */
export interface BreakerInput {
  /** Default true. */
  enabled?: boolean
  /**
   * Count 5xx answers as failures. Connection failures and timeouts always count. Default false for
   * client traffic (an upstream's 5xx on one URL must not close the others), true for shadow traffic.
   */
  countServerErrors?: boolean
  /** Failure percentage (5xx, timeouts, connection errors; never 4xx) that opens it. Default 50. */
  errorThresholdPercentage?: number
  /** Calls in the rolling window before it may open. Default 20 (primary), 10 (shadow). */
  volumeThreshold?: number
  /** Time open before one trial call (half-open). Default 10000 (primary), 30000 (shadow). */
  resetTimeoutMs?: number
  /** Rolling statistics window. Default 10000. */
  rollingWindowMs?: number
}

/** How shadow writes are kept from committing on one side (exactly one). */
export interface WriteSafetyInput {
  /** A header that side honours by validating without committing. Default `x-ficus-shadow: dry-run`. */
  dryRunHeader?: { name?: string; value?: string }
  /** An upstream that is a sandbox copy of that side: shadow writes go there instead. */
  sandbox?: string
}

/**
 * Each side's write safety: writes are shadowed to a side only when it declares one (otherwise
 * skipped, cause `unsafe-write`). `dryRunHeader` or `sandbox` at this level is shorthand for `modern`.
 */
export interface ShadowWritesInput extends WriteSafetyInput {
  legacy?: WriteSafetyInput
  modern?: WriteSafetyInput
}

export interface ShadowInput {
  /** Percentage of the slice's requests shadowed (deterministic per request id). Default 100. */
  sample?: number
  /** Deadline of each shadow call. Default 5000. */
  timeoutMs?: number
  /** Request bodies larger than this are not shadowed (and counted). Default 1 MiB. */
  maxRequestBodyBytes?: number
  /** Response bodies larger than this are compared by hash only. Default 5 MiB. */
  maxResponseBodyBytes?: number
  /** Opt in to shadowing writes (anything but GET/HEAD), with a safety mode. */
  writes?: ShadowWritesInput
  /**
   * Timing lag: re-ask the shadow side of a mismatching GET after `delayMs`, then `factor` (default
   * 2) times longer each time, until `maxMs` (default 2000) in all; the time to converge is measured,
   * and a mismatch that outlasts `maxMs` is a genuine conflict.
   */
  reask?: { delayMs: number; maxMs?: number; factor?: number }
  /**
   * Noise: on `sample` % of shadowed GETs, ask the authoritative side twice. A path becomes noise
   * for a route when, within `windowMs` (default 1 h), it differed at least `minSelfDifferences`
   * times (default 3) in at least `minRatio` % (default 50) of the double-asks covering it; learned
   * noise expires `ttlMs` (default 24 h) after it was last confirmed.
   */
  noise?: { sample: number; minSelfDifferences?: number; minRatio?: number; windowMs?: number; ttlMs?: number }
}

export interface CompareInput {
  /** Response headers compared (content-type by media type). Default ["content-type"]. */
  headers?: string[]
  /** Body paths (JSON pointers, `*` segments) not compared. */
  ignore?: string[]
  /** Numbers closer than this are equal. */
  numericTolerance?: number
  /** Arrays compared as sets, optionally matched by a key field. */
  unorderedArrays?: { path: string; key?: string }[]
  /** ISO timestamps closer than this are equal. */
  timestampToleranceMs?: number
  /** Compare headers and bodies of error answers (status ≥ 400) too. Default false: status only. */
  errorBodies?: boolean
  /** Publish values in diff entries (default: only salted hashes), never those under `redact`. */
  values?: { include: boolean; redact?: string[] }
  /**
   * Body path patterns (`*` segments) whose object keys are published in clear, e.g. `['/limits/*']`
   * for a map keyed by product codes. Other keys in diff paths that the config does not name
   * anywhere (in its compare, translate or model paths) come from data and are published as salted
   * hashes (`#<16 hex>`). Array indexes are always in clear.
   */
  clearKeys?: string[]
  /**
   * Body paths (`*` segments) whose untranslated values are published in clear, e.g. `['/status']`
   * for a list of status codes. Elsewhere untranslated values are published as salted hashes.
   */
  clearUntranslated?: string[]
  /** Body paths that can never become noise: a difference there is always judged. */
  critical?: string[]
  /**
   * Rules of the new model, checked against the translated legacy answer: a difference on a value
   * that breaks one is a source-data defect (the legacy data is wrong), not a conflict.
   */
  model?: ModelRules
}

/** The anti-corruption layer of a slice: translation of each side's JSON body into the new language. */
export interface TranslateInput {
  /** Recorded with every comparison: change it whenever the rules change. */
  version: string
  /** Rules applied to legacy bodies. */
  legacy?: TranslationRules
  /** Rules applied to modern bodies (rarely needed). */
  modern?: TranslationRules
}

/** When a slice counts as ready to move to modern (rates in percent). Defaults in docs and README. */
export interface ReadinessInput {
  /** Compared samples in the window. Default 500. */
  minSamples?: number
  /** Lower 95 % confidence bound of the match rate, percent. Default 99. */
  minMatchRate?: number
  /** Genuine conflicts (status/body mismatch) per compared sample, percent. Default 0: none. */
  maxConflictRate?: number
  /** Shadow errors per shadow call, percent. Default 1. */
  maxShadowErrorRate?: number
  /** Translation defects per compared sample, percent. Default 0: none. */
  maxTranslationDefectRate?: number
  /** Source-data defects per compared sample, percent. Default 1. */
  maxSourceDataDefectRate?: number
  /** Not-compared answers per answered pair, percent. Default 5. */
  maxNotComparedRate?: number
  /** Timing lags per compared sample, percent. Default 5. */
  maxLagRate?: number
  /** 95th percentile of the measured lags, milliseconds. Default 1000. */
  maxLagP95Ms?: number
  /** The evidence window: only comparisons of the last `windowDays` under the current rules count. Default 7. */
  windowDays?: number
  /** Modern latency at `percentile` at most `maxRatio` × legacy's (defaults 95 and 1.25); false: not checked. */
  latency?: { percentile?: 50 | 95 | 99; maxRatio?: number } | false
  /** Hours between the first and last sample. Default 24. */
  minSoakHours?: number
}

export interface SliceInput {
  description: string
  /**
   * Initial authority: `legacy`, `modern`, or a sticky percentage of modern traffic such as `25%`.
   * The live value is held by the authority store.
   */
  authority: Authority
  /** The key a percentage rollout buckets requests by; the client address when absent or missing. */
  stickyKey?: StickyKeyInput
  /** The business entity a request is about (recorded in comparisons), e.g. `{ param: 'policyNumber' }`. */
  entityKey?: StickyKeyInput
  /** Message key of this slice's comparison events: the slice id (default, one ordered stream per slice) or the entity key. */
  eventKey?: 'slice' | 'entity'
  /** Proxy WebSocket upgrades on this slice's routes to its authoritative side (never shadowed). Default true. */
  websocket?: boolean
  /** Shadow the non-authoritative side (off when absent). */
  shadow?: ShadowInput
  compare?: CompareInput
  translate?: TranslateInput
  /** Readiness thresholds of this slice, over the gateway-wide `readiness`. */
  readiness?: ReadinessInput
  routes: RouteInput[]
  legacy?: SliceSideInput
  modern?: SliceSideInput
}

export interface UpstreamInput {
  /** Base URL, http or https; a path prefix is kept in front of every forwarded path. */
  url: string
  /** Time to establish a connection. Default 2000. */
  connectTimeoutMs?: number
  /** Time until the response headers arrive. Default 10000. */
  timeoutMs?: number
  /** Longest silence between two body chunks; 0 turns it off. Default 30000. */
  bodyTimeoutMs?: number
  /** Connection pool size. Default 64. */
  connections?: number
  /** Circuit breakers for client (primary, per slice) and shadow (per slice) traffic to this upstream. */
  breaker?: { primary?: BreakerInput; shadow?: BreakerInput }
  /** A request whose pooled connection closed before any byte of the answer is retried once on a fresh one when it is idempotent (GET, HEAD, OPTIONS, and DELETE without a body). Default true. */
  retry?: { idempotent?: boolean }
  /** TLS to an https upstream: files of a CA bundle, a client certificate and key (mutual TLS), the server name, the minimum version. */
  tls?: {
    caFile?: string
    certFile?: string
    keyFile?: string
    servername?: string
    minVersion?: (typeof TLS_VERSIONS)[number]
    /** Turns certificate checks off (the start log says so). Default false. */
    insecureSkipVerify?: boolean
  }
}

/** The shape `defineGateway()` accepts: the type checker and the runtime validator agree on it. */
export interface GatewayConfigInput {
  /** A name for this migration, shown in logs and reports. */
  name?: string
  /** A label for this routes config (recorded with every comparison); a content hash is used when absent. */
  version?: string
  gateway?: {
    /** Side that answers requests no slice claims. Default `legacy`. */
    fallthrough?: Side
    /** Add `x-ficus-slice` / `x-ficus-authority` to responses. Both default to true. */
    responseHeaders?: { slice?: boolean; authority?: boolean }
    /** Trust incoming `x-forwarded-proto/-host` (only behind a proxy you control). Default false. */
    trustProxy?: boolean
    /** How long graceful shutdown waits for in-flight requests. Default 10000. */
    shutdownTimeoutMs?: number
    /** Shadow work of the whole gateway: calls at once, and waiting beyond that. Defaults 32 and 128. */
    shadow?: { concurrency?: number; queue?: number }
    /** More header names only the gateway may set: removed from every client request (every `x-ficus-*` always is). */
    ownedHeaders?: string[]
    /** What a client may send: beyond, the gateway answers 431, 414, 413 or 408 itself and forwards nothing. */
    limits?: {
      /** Default 100. */
      maxHeaderCount?: number
      /** Total bytes of the header fields. Default 16384. */
      maxHeaderBytes?: number
      /** Default 8192. */
      maxUrlLength?: number
      /** Default 10 MiB. */
      maxBodyBytes?: number
      /** Time to receive the request head. Default 10000. */
      headerTimeoutMs?: number
      /** Time to receive the whole request, body included; 0: none. Default 60000. */
      requestTimeoutMs?: number
      /** Idle time before a kept-alive client connection is closed. Default 5000. */
      keepAliveTimeoutMs?: number
    }
  }
  /** The upstream each side uses unless a slice names another. */
  sides: Record<Side, string>
  upstreams: Record<string, UpstreamInput>
  slices: Record<string, SliceInput>
  /** Readiness thresholds of every slice (a slice may override each). */
  readiness?: ReadinessInput
}

// Compile-time guard: the hand-written input type and the runtime schema must not drift apart.
type AssertAssignable<A extends B, B> = [A, B]
export type SchemaMatchesInput = AssertAssignable<GatewayConfigInput, Input<typeof GatewayConfigSchema>>
