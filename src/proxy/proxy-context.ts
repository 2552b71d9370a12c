import type { FastifyRequest } from 'fastify'
import type { AuthorityState } from '../authority/authority-store.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, SideTarget } from '../config/types.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { RouteTable } from '../routing/route-table.ts'
import type { ShadowRunner } from '../shadow/shadow-runner.ts'
import type { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'

/** What every stage of the request path reads: built once by `buildGateway`, never changed after. */
export interface ProxyContext {
  readonly config: GatewayConfig
  readonly table: RouteTable
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  /** The parallel run; without it nothing is shadowed. */
  readonly shadow: ShadowRunner | undefined
  /** Identity maps of routes that declare `ids`; without them such a route's mapped side cannot be called. */
  readonly identity: IdentityMaps | undefined
  readonly metrics: Pick<Metrics, 'recordRequest' | 'recordRetry' | 'recordUpgrade' | 'trackTunnel' | 'recordIdentityFallback'> | undefined
  /** The authority snapshot of a slice (a synchronous read: the request path never waits for a store). */
  readonly authorityOf: (sliceId: string) => AuthorityState | undefined
  /** Where requests no slice claims go, on each side. */
  readonly fallthrough: Readonly<Record<Side, SideTarget>>
  /** Header names clients may not send (gateway-owned): removed before any upstream sees a request. */
  readonly dropped: ReadonlySet<string>
  /** Whether the request line is logged (info level). */
  readonly logRequests: boolean
}

/** What the gateway decided for one request; read by the request log line and error answers. */
export interface RequestRouting {
  readonly slice: string | null
  readonly route: string | null
  /** The side that answers this request (logged as `authority`). */
  readonly side: Side
  readonly upstream: string
  upstreamStatus: number | null
  upstreamMs: number | null
  /** Set when the upstream's body failed after the status was sent. */
  bodyError: string | null
}

declare module 'fastify' {
  interface FastifyRequest {
    routing: RequestRouting | null
  }
}

export function declaredBodyLength(request: FastifyRequest): number | null {
  const length = request.headers['content-length']
  return length === undefined ? null : Number(length)
}

export function hasBody(request: FastifyRequest): boolean {
  const length = declaredBodyLength(request)
  return request.headers['transfer-encoding'] !== undefined || (length !== null && length !== 0)
}

/** Milliseconds since `started` (a performance.now() reading), to a tenth. */
export function elapsedMs(started: number, now: number): number {
  return Math.round((now - started) * 10) / 10
}
