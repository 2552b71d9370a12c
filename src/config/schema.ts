import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { Authority } from './authority-value.ts'

/** The two sides that can answer a slice. */
export const SIDES = ['legacy', 'modern'] as const
export type Side = (typeof SIDES)[number]

/** Methods a slice route may claim. HEAD requests also match a GET route unless a HEAD route exists. */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type RouteMethod = (typeof ROUTE_METHODS)[number]

/**
 * Keys reserved for the features filed after the gateway core (shadow calls, comparison,
 * readiness). They are recognised so that a config written for a later version gets a precise
 * "not supported by this version" message instead of "unknown key".
 */
export const RESERVED_SECTIONS = {
  shadow: 'shadow calls',
  compare: 'comparison rules',
  readiness: 'readiness thresholds',
} as const

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000
export const DEFAULT_BODY_TIMEOUT_MS = 30_000
export const DEFAULT_UPSTREAM_CONNECTIONS = 64
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

const strict = { additionalProperties: false } as const

function literals(values: readonly string[]): TSchema {
  return Type.Union(values.map((value) => Type.Literal(value)))
}

const SideSchema = literals(SIDES)
const reserved = Type.Optional(Type.Unknown())

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
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    legacy: Type.Optional(SliceSideSchema),
    modern: Type.Optional(SliceSideSchema),
    shadow: reserved,
    compare: reserved,
    readiness: reserved,
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
    shadow: reserved,
    compare: reserved,
    readiness: reserved,
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

export interface SliceInput {
  description: string
  /**
   * Initial authority: `legacy`, `modern`, or a sticky percentage of modern traffic such as `25%`.
   * The live value is held by the authority store.
   */
  authority: Authority
  /** The key a percentage rollout buckets requests by; the client address when absent or missing. */
  stickyKey?: StickyKeyInput
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
  }
  /** The upstream each side uses unless a slice names another. */
  sides: Record<Side, string>
  upstreams: Record<string, UpstreamInput>
  slices: Record<string, SliceInput>
}

// Compile-time guard: the hand-written input type and the runtime schema must not drift apart.
type AssertAssignable<A extends B, B> = [A, B]
export type SchemaMatchesInput = AssertAssignable<GatewayConfigInput, Input<typeof GatewayConfigSchema>>
