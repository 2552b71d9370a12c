import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox'
import type { JsonValue } from '../compare/json-pointer.ts'
import type { ModelFormat } from '../compare/model-rules.ts'
import type { Coercion } from '../compare/translate.ts'
import type { Authority } from '../model/authority-value.ts'
import { SIDES, type Side } from '../model/sides.ts'
import { MAX_WORKERS, WORKERS_MUST_BE } from './workers.ts'

// The one shape of routes.config.ts: the TypeBox schema below is what the validator checks, and the
// input types are derived from it (`Static`), so the two cannot drift. The doc comments on the schema's
// properties are what an editor shows on each field of a `defineGateway({...})` literal; their
// defaults are the DEFAULT_* constants of defaults.ts, which validate.ts applies.

export { SIDES, type Side }

/** Methods a slice route may claim. HEAD requests also match a GET route unless a HEAD route exists. */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type RouteMethod = (typeof ROUTE_METHODS)[number]

/** What keys a slice's comparison events on the comparisons topic (docs/events.md). */
export const EVENT_KEYS = ['entity', 'request', 'slice'] as const
export type EventKey = (typeof EVENT_KEYS)[number]

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const

/** Where captured pairs are kept. */
export const CAPTURE_STORES = ['data-dir', 'kafka'] as const
export type CaptureStoreKind = (typeof CAPTURE_STORES)[number]

const strict = { additionalProperties: false } as const

function literals<const T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((value) => Type.Literal(value)))
}

// Values that are not plain JSON types, or narrower than JSON Schema says: validated as the schema
// given (the same problems as a plain schema would report), typed as TypeScript knows them.
/** Any value (validated as such); typed as JSON. */
const JsonValueSchema = Type.Unsafe<JsonValue>(Type.Unknown())

const HeaderRewriteSchema = Type.Object(
  {
    add: Type.Optional(Type.Record(Type.String(), Type.String())),
    remove: Type.Optional(Type.Array(Type.String())),
  },
  strict,
)

const SliceSideSchema = Type.Object(
  {
    /** Upstream name; defaults to the gateway-wide upstream of that side (`sides`). */
    upstream: Type.Optional(Type.String({ minLength: 1 })),
    headers: Type.Optional(HeaderRewriteSchema),
  },
  strict,
)
/** How one side of a slice is called. */
export type SliceSideInput = Static<typeof SliceSideSchema>

const BreakerSchema = Type.Object(
  {
    /** Default true. */
    enabled: Type.Optional(Type.Boolean()),
    /**
     * Count 5xx answers as failures. Connection failures and timeouts always count. Default false for
     * client traffic (an upstream's 5xx on one URL must not close the others), true for shadow traffic.
     */
    countServerErrors: Type.Optional(Type.Boolean()),
    /** Failure percentage (5xx, timeouts, connection errors; never 4xx) that opens it. Default 50. */
    errorThresholdPercentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Calls in the rolling window before it may open. Default 20 (primary), 10 (shadow). */
    volumeThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Time open before one trial call (half-open). Default 10000 (primary), 30000 (shadow). */
    resetTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Rolling statistics window. Default 10000. */
    rollingWindowMs: Type.Optional(Type.Integer({ minimum: 100 })),
  },
  strict,
)
/** Circuit breaker of one kind of traffic to one upstream (opossum). */
export type BreakerInput = Static<typeof BreakerSchema>

const TranslationRulesSchema = Type.Object(
  {
    rename: Type.Optional(Type.Record(Type.String(), Type.String())),
    values: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), JsonValueSchema))),
    // Checked to be "number", "string", "boolean" or "date:<format>" during validation.
    coerce: Type.Optional(Type.Record(Type.String(), Type.Unsafe<Coercion>(Type.String()))),
    set: Type.Optional(Type.Record(Type.String(), JsonValueSchema)),
    remove: Type.Optional(Type.Array(Type.String())),
    // The escape hatch: checked to be a function during validation (a message of our own, not the schema's).
    fn: Type.Optional(Type.Unsafe<(body: JsonValue) => JsonValue>(Type.Unknown())),
    /**
     * Ids inside this side's body mapped to the other side's ids through an identity map, before the
     * other rules: JSON pointer in this side's own shape (`*` segments) → map name, e.g.
     * `{ '/claimNumber': 'claim-ids' }` in `legacy` turns legacy claim numbers into new claim ids.
     */
    ids: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }))),
  },
  strict,
)

const WriteSafetyProperties = {
  /** A header that side honours by validating without committing. Default `x-ficus-shadow: dry-run`. */
  dryRunHeader: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ minLength: 1 })), value: Type.Optional(Type.String({ minLength: 1 })) }, strict)),
  /** An upstream that is a sandbox copy of that side: shadow writes go there instead. */
  sandbox: Type.Optional(Type.String({ minLength: 1 })),
}

const WriteSafetySchema = Type.Object(WriteSafetyProperties, strict)
/** How shadow writes are kept from committing on one side (exactly one). */
export type WriteSafetyInput = Static<typeof WriteSafetySchema>

const ShadowWritesSchema = Type.Object(
  {
    ...WriteSafetyProperties,
    legacy: Type.Optional(WriteSafetySchema),
    modern: Type.Optional(WriteSafetySchema),
  },
  strict,
)
/**
 * Each side's write safety: writes are shadowed to a side only when it declares one (otherwise
 * skipped, cause `unsafe-write`). `dryRunHeader` or `sandbox` at this level is shorthand for `modern`.
 */
export type ShadowWritesInput = Static<typeof ShadowWritesSchema>

const ShadowSchema = Type.Object(
  {
    /** Percentage of the slice's requests shadowed (deterministic per request id). Default 100. */
    sample: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Deadline of each shadow call. Default 5000. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Request bodies larger than this are not shadowed (and counted). Default 1 MiB. */
    maxRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Response bodies larger than this are compared by hash only. Default 5 MiB. */
    maxResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Opt in to shadowing writes (anything but GET/HEAD), with a safety mode. */
    writes: Type.Optional(ShadowWritesSchema),
    /**
     * Timing lag: re-ask the shadow side of a mismatching GET after `delayMs`, then `factor` (default
     * 2) times longer each time, until `maxMs` (default 2000) in all; the time to converge is measured,
     * and a mismatch that outlasts `maxMs` is a genuine conflict.
     */
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
    /**
     * Noise: on `sample` % of shadowed GETs, ask the authoritative side twice. A path becomes noise
     * for a route when, within `windowMs` (default 1 h), it differed at least `minSelfDifferences`
     * times (default 3) in at least `minRatio` % (default 50) of the double-asks covering it; learned
     * noise expires `ttlMs` (default 24 h) after it was last confirmed.
     */
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
export type ShadowInput = Static<typeof ShadowSchema>

const CaptureSchema = Type.Object(
  {
    /** Percentage of the slice's shadowed requests whose two answers are captured (deterministic per request id). Default 100. */
    percent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    /** How long captures are kept, in hours (fractions allowed), at most 720 (30 days). Default 72. */
    retentionHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 720 })),
    /** Bytes of captures the slice may keep in the data directory; its oldest hours go first. Default 256 MiB. */
    maxBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  strict,
)
/**
 * Captured pairs of a shadowed slice: both answers of a sample of its shadowed requests, encrypted
 * (FICUS_CAPTURE_KEYS) and kept for `retentionHours`, so `ficus recompare` can judge them again.
 */
export type CaptureInput = Static<typeof CaptureSchema>

// Paths are JSON pointers in the new (translated) shape; a `*` segment stands for every key or index.
const ModelRulesSchema = Type.Object(
  {
    /** Values that must be present (and not null). */
    required: Type.Optional(Type.Array(Type.String())),
    /** The only values a path may hold. */
    values: Type.Optional(Type.Record(Type.String(), Type.Array(JsonValueSchema))),
    /** Formats of string values: `date`, `date-time`, `email`, `uuid`, or `pattern:<regular expression>`. */
    formats: Type.Optional(Type.Record(Type.String(), Type.Unsafe<ModelFormat>(Type.String()))),
    /** Bounds of numeric values. */
    ranges: Type.Optional(Type.Record(Type.String(), Type.Object({ min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }, strict))),
    /** A JSON Schema (2020-12) of the whole translated body. */
    schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  strict,
)

const CompareSchema = Type.Object(
  {
    /** Response headers compared (content-type by media type). Default ["content-type"]. */
    headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** Body paths (JSON pointers, `*` segments) not compared. */
    ignore: Type.Optional(Type.Array(Type.String())),
    /** Numbers closer than this are equal. */
    numericTolerance: Type.Optional(Type.Number({ minimum: 0 })),
    /** Arrays compared as sets, optionally matched by a key field. */
    unorderedArrays: Type.Optional(Type.Array(Type.Object({ path: Type.String(), key: Type.Optional(Type.String({ minLength: 1 })) }, strict))),
    /** ISO timestamps closer than this are equal. */
    timestampToleranceMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Compare headers and bodies of error answers (status ≥ 400) too. Default false: status only. */
    errorBodies: Type.Optional(Type.Boolean()),
    /** Publish values in diff entries (default: only salted hashes), never those under `redact`. */
    values: Type.Optional(Type.Object({ include: Type.Boolean(), redact: Type.Optional(Type.Array(Type.String())) }, strict)),
    /**
     * Body path patterns (`*` segments) whose object keys are published in clear, e.g. `['/limits/*']`
     * for a map keyed by product codes. Other keys in diff paths that the config does not name
     * anywhere (in its compare, translate or model paths) come from data and are published as salted
     * hashes (`#<16 hex>`). Array indexes are always in clear.
     */
    clearKeys: Type.Optional(Type.Array(Type.String())),
    /**
     * Body paths (`*` segments) whose untranslated values are published in clear, e.g. `['/status']`
     * for a list of status codes. Elsewhere untranslated values are published as salted hashes.
     */
    clearUntranslated: Type.Optional(Type.Array(Type.String())),
    /** Body paths that can never become noise: a difference there is always judged. */
    critical: Type.Optional(Type.Array(Type.String())),
    /**
     * Rules of the new model, checked against the translated legacy answer: a difference on a value
     * that breaks one is a source-data defect (the legacy data is wrong), not a conflict.
     */
    model: Type.Optional(ModelRulesSchema),
  },
  strict,
)
export type CompareInput = Static<typeof CompareSchema>

const ReadinessSchema = Type.Object(
  {
    /** Compared samples in the window. Default 500. */
    minSamples: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Lower 95 % confidence bound of the match rate, percent. Default 99. */
    minMatchRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Genuine conflicts (status/body mismatch) per compared sample, percent. Default 0: none. */
    maxConflictRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Shadow errors per shadow call, percent. Default 1. */
    maxShadowErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Translation defects per compared sample, percent. Default 0: none. */
    maxTranslationDefectRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Source-data defects per compared sample, percent. Default 1. */
    maxSourceDataDefectRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Not-compared answers per answered pair, percent. Default 5. */
    maxNotComparedRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Timing lags per compared sample, percent. Default 5. */
    maxLagRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** 95th percentile of the measured lags, milliseconds. Default 1000. */
    maxLagP95Ms: Type.Optional(Type.Number({ minimum: 0 })),
    /** The evidence window: only comparisons of the last `windowDays` under the current rules count. Default 7. */
    windowDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 366 })),
    /** Modern latency at `percentile` at most `maxRatio` × legacy's (defaults 95 and 1.25); false: not checked. */
    latency: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            percentile: Type.Optional(Type.Union([Type.Literal(50), Type.Literal(95), Type.Literal(99)])),
            maxRatio: Type.Optional(Type.Number({ minimum: 0 })),
          },
          strict,
        ),
      ]),
    ),
    /** Hours between the first and last sample. Default 24. */
    minSoakHours: Type.Optional(Type.Number({ minimum: 0 })),
    /** Days a genuine conflict seen in the evidence may stay open in the register's triage. Default 7. */
    maxOpenConflictAgeDays: Type.Optional(Type.Number({ minimum: 0 })),
  },
  strict,
)
/** When a slice counts as ready to move to modern (rates in percent). Defaults in docs and README. */
export type ReadinessInput = Static<typeof ReadinessSchema>

const TranslateSchema = Type.Object(
  {
    /** Recorded with every comparison: change it whenever the rules change. */
    version: Type.String({ minLength: 1 }),
    /** Rules applied to legacy bodies. */
    legacy: Type.Optional(TranslationRulesSchema),
    /** Rules applied to modern bodies (rarely needed). */
    modern: Type.Optional(TranslationRulesSchema),
  },
  strict,
)
/** The anti-corruption layer of a slice: translation of each side's JSON body into the new language. */
export type TranslateInput = Static<typeof TranslateSchema>

const IdentityParamSchema = Type.Object(
  {
    /** A path parameter of the route (exactly one of param, query, header). */
    param: Type.Optional(Type.String({ minLength: 1 })),
    query: Type.Optional(Type.String({ minLength: 1 })),
    header: Type.Optional(Type.String({ minLength: 1 })),
    /** The identity map (`identityMaps`) that links the two sides' ids. */
    map: Type.String({ minLength: 1 }),
    /** Whose ids the client sends; the other side's call gets the mapped value. Default `legacy`. */
    client: Type.Optional(literals(SIDES)),
  },
  strict,
)
/** A request value mapped through an identity map before the other side is called. */
export type IdentityParamInput = Static<typeof IdentityParamSchema>

const RouteSchema = Type.Object(
  {
    method: literals(ROUTE_METHODS),
    /** Client-facing path template, e.g. `/pas/v1/policy/:polNo/status`. */
    path: Type.String(),
    /** Path template per side; defaults to `path`. May use the parameters `path` declares. */
    rewrite: Type.Optional(Type.Object({ legacy: Type.Optional(Type.String()), modern: Type.Optional(Type.String()) }, strict)),
    /**
     * Ids the client sends (in legacy's ids unless `client` says otherwise) that the other side knows
     * by other ids: each value is looked up in an identity map and replaced before that side is
     * called, for authoritative and shadow calls alike.
     */
    ids: Type.Optional(Type.Array(IdentityParamSchema)),
  },
  strict,
)
/** A route of a slice: the client-facing method and path template, and the path each side is called with. */
export type RouteInput = Static<typeof RouteSchema>

const StickyKeySchema = Type.Object(
  {
    /** A path parameter every route of the slice declares, e.g. `policyNumber`. */
    param: Type.Optional(Type.String({ minLength: 1 })),
    /** A request header, e.g. `x-customer-id`. */
    header: Type.Optional(Type.String({ minLength: 1 })),
    /** A query parameter. */
    query: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
)
/** Where a percentage rollout finds the key it buckets a request by (exactly one of these). */
export type StickyKeyInput = Static<typeof StickyKeySchema>

/** Who owns a slice's decision: the team that says when authority may move, and how to reach it. */
const OwnerSchema = Type.Object(
  {
    /** The team, as the organisation names it, e.g. `claims-platform`. */
    team: Type.String({ minLength: 1, maxLength: 100 }),
    /** How to reach it: an address, a chat channel, a page. */
    contact: Type.String({ minLength: 1, maxLength: 200 }),
  },
  strict,
)

const SliceSchema = Type.Object(
  {
    description: Type.String({ minLength: 1 }),
    /** The team that owns this slice's decision (shown in comparisons, reports, the dashboard and triage). */
    owner: Type.Optional(OwnerSchema),
    /**
     * Initial authority: `legacy`, `modern`, or a sticky percentage of modern traffic such as `25%`.
     * The live value is held by the authority store.
     */
    // Checked with the same parser the admin API uses (a template literal type JSON Schema cannot say).
    authority: Type.Unsafe<Authority>(Type.String()),
    /** The key a percentage rollout buckets requests by; the client address when absent or missing. */
    stickyKey: Type.Optional(StickyKeySchema),
    /** The business entity a request is about (recorded in comparisons), e.g. `{ param: 'policyNumber' }`. */
    entityKey: Type.Optional(StickyKeySchema),
    /**
     * Message key of this slice's comparison events: `entity` (default: the entity key, the request
     * id when the request names none; one slice spreads over every partition), `request` (the
     * request id) or `slice` (the slice id: one ordered stream per slice, on one partition).
     */
    eventKey: Type.Optional(literals(EVENT_KEYS)),
    /** Proxy WebSocket upgrades on this slice's routes to its authoritative side (never shadowed). Default true. */
    websocket: Type.Optional(Type.Boolean()),
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    legacy: Type.Optional(SliceSideSchema),
    modern: Type.Optional(SliceSideSchema),
    /** Shadow the non-authoritative side (off when absent). */
    shadow: Type.Optional(ShadowSchema),
    /** Keep both answers of a sample of the shadowed requests, encrypted, for `ficus recompare` (needs `shadow`). Off when absent. */
    capture: Type.Optional(CaptureSchema),
    compare: Type.Optional(CompareSchema),
    translate: Type.Optional(TranslateSchema),
    /** Readiness thresholds of this slice, over the gateway-wide `readiness`. */
    readiness: Type.Optional(ReadinessSchema),
    /**
     * The drift alarm of a slice that moved (authority not `legacy`), still shadowing legacy: when the
     * agreement of the last `windowHours` (default 1) falls below `minAgreement` percent (default 99)
     * over at least `minSamples` compared samples (default 50), `ficus_drift_alert{slice}` is 1 and a
     * warning is logged; `false` turns it off.
     */
    drift: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            minAgreement: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
            windowHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 168 })),
            minSamples: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          strict,
        ),
      ]),
    ),
    /**
     * When the side that holds authority needs a mapped id (a route's `ids`) and the map has none, or
     * cannot answer in time: `error` answers 404 FICUS_ERR_IDENTITY_MISSING (503
     * FICUS_ERR_IDENTITY_UNAVAILABLE when the map cannot answer), `client-side` lets the side whose ids
     * the client sent (legacy, usually) answer a read instead (a write still gets the error). Default `error`. The shadow is never affected: it is `not-compared`.
     */
    missingIdentity: Type.Optional(literals(['error', 'client-side'])),
    /**
     * `ficus reconcile <slice>`: the read route asked for each key (`"GET /template"`, one of the
     * slice's GET or HEAD routes with one path parameter; default: its only GET route with one), the
     * pace that protects legacy (`ratePerSecond`, default 10 keys a second; `concurrency`, default 2
     * keys in flight) and the thresholds a run must meet (`minAgreement` percent, default 99;
     * `maxErrorPercent`, default 1).
     */
    reconcile: Type.Optional(
      Type.Object(
        {
          route: Type.Optional(Type.String({ minLength: 1 })),
          ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
          concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
          thresholds: Type.Optional(
            Type.Object(
              {
                minAgreement: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
                maxErrorPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
              },
              strict,
            ),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
)
export type SliceInput = Static<typeof SliceSchema>

const UpstreamSchema = Type.Object(
  {
    /** Base URL, http or https; a path prefix is kept in front of every forwarded path. */
    url: Type.String(),
    /** Time to establish a connection. Default 2000. */
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Time until the response headers arrive. Default 10000. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Longest silence between two body chunks; 0 turns it off. Default 30000. */
    bodyTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Connection pool size. Default 64. */
    connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Circuit breakers for client (primary, per slice) and shadow (per slice) traffic to this upstream. */
    breaker: Type.Optional(Type.Object({ primary: Type.Optional(BreakerSchema), shadow: Type.Optional(BreakerSchema) }, strict)),
    /** A request whose pooled connection closed before any byte of the answer is retried once on a fresh one when it is idempotent (GET, HEAD, OPTIONS, and DELETE without a body). Default true. */
    retry: Type.Optional(Type.Object({ idempotent: Type.Optional(Type.Boolean()) }, strict)),
    /** TLS to an https upstream: files of a CA bundle, a client certificate and key (mutual TLS), the server name, the minimum version. */
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(Type.String({ minLength: 1 })),
          certFile: Type.Optional(Type.String({ minLength: 1 })),
          keyFile: Type.Optional(Type.String({ minLength: 1 })),
          servername: Type.Optional(Type.String({ minLength: 1 })),
          minVersion: Type.Optional(literals(TLS_VERSIONS)),
          /** Turns certificate checks off (the start log says so). Default false. */
          insecureSkipVerify: Type.Optional(Type.Boolean()),
        },
        strict,
      ),
    ),
  },
  strict,
)
export type UpstreamInput = Static<typeof UpstreamSchema>

const GatewaySettingsSchema = Type.Object(
  {
    /** Side that answers requests no slice claims. Default `legacy`. */
    fallthrough: Type.Optional(literals(SIDES)),
    /** Add `x-ficus-slice` / `x-ficus-authority` to responses. Both default to true. */
    responseHeaders: Type.Optional(Type.Object({ slice: Type.Optional(Type.Boolean()), authority: Type.Optional(Type.Boolean()) }, strict)),
    /** Trust incoming `x-forwarded-proto/-host` (only behind a proxy you control). Default false. */
    trustProxy: Type.Optional(Type.Boolean()),
    /** How long graceful shutdown waits for in-flight requests. Default 10000. */
    shutdownTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * Gateway processes behind the one port (`ficus start --workers` wins over it): a whole number
     * ≥ 1, or `auto` for the machine's available cores. Default 1 (one process, no primary).
     */
    workers: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_WORKERS }), Type.Literal('auto')], { mustBe: WORKERS_MUST_BE })),
    /**
     * Shadow work of the whole gateway: calls at once, and waiting beyond that (defaults 32 and 128);
     * how often the skips counted instead of recorded are published as ShadowSkips events (default 10000 ms).
     */
    shadow: Type.Optional(
      Type.Object(
        {
          concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
          queue: Type.Optional(Type.Integer({ minimum: 0 })),
          skipsIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
        },
        strict,
      ),
    ),
    /** More header names only the gateway may set: removed from every client request (every `x-ficus-*` always is). */
    ownedHeaders: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** What a client may send: beyond, the gateway answers 431, 414, 413 or 408 itself and forwards nothing. */
    limits: Type.Optional(
      Type.Object(
        {
          /** Default 100. */
          maxHeaderCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          /** Total bytes of the header fields. Default 16384. */
          maxHeaderBytes: Type.Optional(Type.Integer({ minimum: 1_024, maximum: 1024 * 1024 })),
          /** Default 8192. */
          maxUrlLength: Type.Optional(Type.Integer({ minimum: 64, maximum: 1024 * 1024 })),
          /** Default 10 MiB. */
          maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Time to receive the request head. Default 10000. */
          headerTimeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
          /** Time to receive the whole request, body included; 0: none. Default 60000. */
          requestTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Idle time before a kept-alive client connection is closed. Default 5000. */
          keepAliveTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        strict,
      ),
    ),
  },
  strict,
)

const IdentityMapSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    /**
     * A file of pairs loaded at start: CSV with the header `legacy,modern`, or JSON lines
     * `{"legacy":"…","modern":"…"}` (by its extension `.csv` / `.jsonl`). Relative to the working directory.
     */
    file: Type.Optional(Type.String({ minLength: 1 })),
    /** Kept in Redis (REDIS_URL), shared and updated live: the hashes `<prefix>ids:<name>:to-modern` and `:to-legacy`. */
    redis: Type.Optional(Type.Literal(true)),
    /** Redis lookups remembered: at most `entries` (default 10000), found ids for `ttlMs` (default 60000), misses for `missTtlMs` (default 5000). */
    cache: Type.Optional(
      Type.Object(
        {
          entries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
          ttlMs: Type.Optional(Type.Integer({ minimum: 0 })),
          missTtlMs: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        strict,
      ),
    ),
    /** Longest wait for a lookup on the request path; beyond, the map counts as unavailable. Default 50. */
    lookupTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  strict,
)
/** An identity map: pairs of one entity's legacy id and new id (exactly one of `file` or `redis`). */
export type IdentityMapInput = Static<typeof IdentityMapSchema>

/** JSON Schema of routes.config.ts (before defaults and cross-reference checks). */
export const GatewayConfigSchema = Type.Object(
  {
    /** A name for this migration, shown in logs and reports. */
    name: Type.Optional(Type.String({ minLength: 1 })),
    /** A label for this routes config (recorded with every comparison); a content hash is used when absent. */
    version: Type.Optional(Type.String({ minLength: 1 })),
    gateway: Type.Optional(GatewaySettingsSchema),
    /** The upstream each side uses unless a slice names another. */
    sides: Type.Object({ legacy: Type.String({ minLength: 1 }), modern: Type.String({ minLength: 1 }) }, strict),
    upstreams: Type.Record(Type.String(), UpstreamSchema),
    slices: Type.Record(Type.String(), SliceSchema),
    /** Identity maps between legacy and new ids, by name (kebab-case), that routes and translation rules use. */
    identityMaps: Type.Optional(Type.Record(Type.String(), IdentityMapSchema)),
    /** Readiness thresholds of every slice (a slice may override each). */
    readiness: Type.Optional(ReadinessSchema),
    /**
     * Where captured pairs of slices with `capture` are kept: `data-dir` (default, hourly files under
     * `<data dir>/captures/`) or `kafka` (the captures topic, FICUS_TOPIC_CAPTURES; needs KAFKA_BROKERS).
     */
    capture: Type.Optional(Type.Object({ store: Type.Optional(literals(CAPTURE_STORES)) }, strict)),
  },
  strict,
)
/** The shape `defineGateway()` accepts: derived from the schema the runtime validator checks. */
export type GatewayConfigInput = Static<typeof GatewayConfigSchema>
