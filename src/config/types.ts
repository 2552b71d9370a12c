import type { CompareRules } from '../compare/compare-responses.ts'
import type { NoiseSettings } from '../compare/noise-evidence.ts'
import type { KeyDeclarations } from '../compare/published-paths.ts'
import type { ReadinessThresholds } from './readiness-thresholds.ts'
import type { Authority } from '../model/authority-value.ts'
import type { PathTemplate } from './path-template.ts'
import type { WorkersSetting } from './workers.ts'
import type { CaptureStoreKind, EventKey, RouteMethod, Side } from './schema.ts'

/** Validated, defaulted, frozen configuration: what the rest of Ficus reads. */
export interface GatewayConfig {
  readonly name: string
  /** The config's own label, or `sha256:<12 hex>` of its content when it has none. */
  readonly version: string
  readonly fallthrough: Side
  readonly responseHeaders: { readonly slice: boolean; readonly authority: boolean }
  readonly trustProxy: boolean
  readonly shutdownTimeoutMs: number
  /** Gateway processes behind the one port: a count, or `auto` (the available cores, resolved at start). */
  readonly workers: WorkersSetting
  readonly sides: Readonly<Record<Side, string>>
  /** Shadow work of the whole gateway: calls at once, how many may wait beyond that, and how often skips are published (ms). */
  readonly shadowLimits: { readonly concurrency: number; readonly queue: number; readonly skipsIntervalMs: number }
  /** Lower-case header names only the gateway sets: removed from client requests (besides every `x-ficus-*`). */
  readonly ownedHeaders: ReadonlySet<string>
  readonly limits: Limits
  readonly upstreams: ReadonlyMap<string, UpstreamConfig>
  /** In declaration order. */
  readonly slices: readonly SliceConfig[]
  /** Identity maps by name. */
  readonly identityMaps: ReadonlyMap<string, IdentityMapConfig>
  /** Where captured pairs are kept (slices with `capture` say which pairs). */
  readonly capture: { readonly store: CaptureStoreKind }
}

/** Captured pairs of a shadowed slice: which share, how long, how many bytes. */
export interface CaptureConfig {
  /** Share of the shadowed requests captured, in basis points (1 … 10 000). */
  readonly sampleBasisPoints: number
  /** How long a capture is kept, in hours (fractions allowed). */
  readonly retentionHours: number
  /** Bytes of captures the slice may keep in the data directory. */
  readonly maxBytes: number
}

/** Pairs of one entity's legacy id and new id, and where they are kept. */
export interface IdentityMapConfig {
  readonly name: string
  readonly description: string
  /** A file loaded at start (path as configured, relative to the working directory), or Redis. */
  readonly source: { readonly kind: 'file'; readonly file: string; readonly format: 'csv' | 'jsonl' } | { readonly kind: 'redis' }
  /** Redis lookups remembered (entries 0: none). */
  readonly cache: { readonly entries: number; readonly ttlMs: number; readonly missTtlMs: number }
  readonly lookupTimeoutMs: number
}

/** Whose ids a value is in, and so which way a lookup goes. */
export type IdDirection = 'to-modern' | 'to-legacy'

/** A request value (path parameter, query parameter or header) mapped before the other side is called. */
export interface IdentityParam {
  readonly from: 'param' | 'query' | 'header'
  /** Parameter name, query parameter name, or lower-case header name. */
  readonly name: string
  readonly map: string
  /** The side whose call gets the mapped value (the other side's ids are what the client sends). */
  readonly side: Side
}

/** Ids inside one side's body mapped before translation: pointer segments (`*` allowed) and the map. */
export interface BodyIds {
  readonly path: string
  readonly segments: readonly string[]
  readonly map: string
}

export interface UpstreamConfig {
  readonly name: string
  /** `http://host:port`, no path. */
  readonly origin: string
  /** Path prefix from the URL without a trailing slash (`''` when none). */
  readonly basePath: string
  readonly connectTimeoutMs: number
  readonly timeoutMs: number
  readonly bodyTimeoutMs: number
  readonly connections: number
  /** Breakers of client (primary) and shadow traffic; null where turned off. */
  readonly breakers: { readonly primary: BreakerConfig | null; readonly shadow: BreakerConfig | null }
  /** Retry an idempotent request once when its pooled connection closed before any byte of the answer. */
  readonly retryIdempotent: boolean
  /** TLS settings (https upstreams); null: Node's defaults. */
  readonly tls: UpstreamTls | null
}

/** What a client may send before the gateway answers an error itself. */
export interface Limits {
  readonly maxHeaderCount: number
  readonly maxHeaderBytes: number
  readonly maxUrlLength: number
  readonly maxBodyBytes: number
  readonly headerTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

/** TLS settings of an https upstream, files read at load. */
export interface UpstreamTls {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3'
  readonly rejectUnauthorized: boolean
}

export interface BreakerConfig {
  /** 5xx answers count as failures (connection failures and timeouts always do). */
  readonly countServerErrors: boolean
  readonly errorThresholdPercentage: number
  readonly volumeThreshold: number
  readonly resetTimeoutMs: number
  readonly rollingWindowMs: number
}

/** When a mismatching read is asked again: first after `delayMs`, each wait `factor` times the last, until `maxMs` in all. */
export interface ReaskSchedule {
  readonly delayMs: number
  readonly factor: number
  readonly maxMs: number
}

/** How a shadowed write is kept from committing on one side. */
export type WriteSafety =
  { readonly kind: 'dry-run-header'; readonly name: string; readonly value: string } | { readonly kind: 'sandbox'; readonly upstream: string }

export interface ShadowConfig {
  /** Share of requests shadowed, in basis points (0 … 10 000). */
  readonly sampleBasisPoints: number
  readonly timeoutMs: number
  readonly maxRequestBodyBytes: number
  readonly maxResponseBodyBytes: number
  /** How writes are made safe on each side; a side without one gets no shadowed writes. */
  readonly writes: Readonly<Record<Side, WriteSafety | null>>
  /** Re-asks of a mismatching read (timing lag); null: none. */
  readonly reask: ReaskSchedule | null
  /** Share of shadowed GETs on which the authoritative side is asked twice, in basis points. */
  readonly noiseBasisPoints: number
  /** When a path that differs between two answers of one side counts as noise. */
  readonly noise: NoiseSettings
}

export interface CompareConfig {
  readonly rules: CompareRules
  /** `sha256:<16 hex>` of the effective translate, compare and model rules: the evidence they made belongs to them. */
  readonly rulesHash: string
  /** `/body/...` paths that are never noise. */
  readonly critical: readonly string[]
  readonly translationVersion: string | null
  /** How values are published: `/body/...` paths of redact and clearUntranslated. */
  readonly values: { readonly include: boolean; readonly redact: readonly string[]; readonly clearUntranslated: readonly string[] }
  /** Which object keys in diff paths are published in clear (the others are hashed). */
  readonly keys: KeyDeclarations
  /** Ids in each side's body mapped to the other side's ids before translation (translate.<side>.ids). */
  readonly bodyIds: Readonly<Record<Side, readonly BodyIds[]>>
}

export interface SideTarget {
  readonly upstream: string
  /** Lower-case header names mapped to values, set on every request to this side. */
  readonly addHeaders: Readonly<Record<string, string>>
  /** Lower-case header names removed from the client's request before it goes to this side. */
  readonly removeHeaders: readonly string[]
}

export interface RouteConfig {
  readonly method: RouteMethod
  readonly path: PathTemplate
  /** Path template each side is called with (the client path when the config gives no rewrite). */
  readonly rewrite: Readonly<Record<Side, PathTemplate>>
  /** Request values mapped through identity maps for one side's calls (empty: none). */
  readonly ids: readonly IdentityParam[]
}

export interface StickyKey {
  readonly from: 'param' | 'header' | 'query'
  /** Parameter name, lower-case header name, or query parameter name. */
  readonly name: string
}

/** When a slice that moved is alarmed: agreement of the last `windowHours` under `minAgreementPercent`, over `minSamples` at least. */
export interface DriftRule {
  readonly minAgreementPercent: number
  readonly windowHours: number
  readonly minSamples: number
}

/** How `ficus reconcile` asks a slice's sides about a list of keys (the CLI's flags override each). */
export interface ReconcileSettings {
  /** `"GET /template"` as configured (checked to be one of the slice's GET or HEAD routes); null: chosen at run time. */
  readonly route: string | null
  /** Keys asked per second, at most. */
  readonly ratePerSecond: number
  /** Keys in flight, at most. */
  readonly concurrency: number
  /** A run breaks its thresholds below this agreement (percent of compared keys) … */
  readonly minAgreementPercent: number
  /** … or above this share of keys whose sides failed (percent of keys asked). */
  readonly maxErrorPercent: number
}

/** The team that owns a slice's decision, and how to reach it. */
export interface SliceOwner {
  readonly team: string
  readonly contact: string
}

export interface SliceConfig {
  readonly id: string
  readonly description: string
  /** Null when the config names no owner. */
  readonly owner: SliceOwner | null
  /** Initial authority (the store holds the live one). */
  readonly authority: Authority
  /** Bucketing key of percentage rollouts; null means the client address. */
  readonly stickyKey: StickyKey | null
  /** Where a request names its business entity (recorded in comparisons); null: none. */
  readonly entityKey: StickyKey | null
  /**
   * Message key of comparison events: `slice` (the slice id), `entity` (the entity key, the request
   * id when the request names none) or `request` (the request id). Resolved: `entity` only for a
   * slice that declares an entity key.
   */
  readonly eventKey: EventKey
  /** WebSocket upgrades on the slice's routes are proxied to its authoritative side. */
  readonly websocket: boolean
  /** Shadow calls; null when the slice is not shadowed. */
  readonly shadow: ShadowConfig | null
  /** Captured pairs of the shadowed requests; null when the slice captures nothing. */
  readonly capture: CaptureConfig | null
  readonly compare: CompareConfig
  readonly readiness: ReadinessThresholds
  readonly routes: readonly RouteConfig[]
  readonly sides: Readonly<Record<Side, SideTarget>>
  /** The drift alarm after a flip; null when turned off. */
  readonly drift: DriftRule | null
  /** When the authoritative side needs an id the identity map does not give: an error, or the client's side answers. */
  readonly missingIdentity: 'error' | 'client-side'
  /** Reconciliation runs of this slice (`ficus reconcile`). */
  readonly reconcile: ReconcileSettings
}
