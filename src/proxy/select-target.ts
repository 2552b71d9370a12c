import type { AuthorityState } from '../authority/authority-store.ts'
import { chooseSide } from '../authority/sticky-bucket.ts'
import type { Authority } from '../model/authority-value.ts'
import { renderPathTemplate } from '../config/path-template.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, SideTarget, StickyKey } from '../config/types.ts'
import type { RouteMatch, RouteTable } from '../routing/route-table.ts'

/** Where one request goes: its slice and route (none for fallthrough), the side, upstream and path. */
export interface Target {
  readonly match: RouteMatch | undefined
  /** The authority in force for the slice (the fallthrough side for unclaimed requests). */
  readonly authority: Authority
  readonly state: AuthorityState | undefined
  readonly side: Side
  readonly target: SideTarget
  /** The path on the upstream, before its base path and without the query. */
  readonly upstreamPath: string
}

/** What a request carries that keys may come from. */
export interface RequestKeys {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly query: string
  readonly ip: string
}

/** The value a request carries for a configured key (path parameter, header or query parameter). */
export function valueOfKey(request: RequestKeys, match: RouteMatch, key: StickyKey | null): string | null {
  let value: string | undefined
  if (key?.from === 'param') value = match.params[key.name]
  else if (key?.from === 'header') {
    const header = request.headers[key.name]
    value = Array.isArray(header) ? header[0] : header
  } else if (key?.from === 'query') value = new URLSearchParams(request.query).get(key.name) ?? undefined
  return value !== undefined && value !== '' ? value : null
}

/**
 * The routing decision for one request, pure: the route table's match, the live authority from the
 * snapshot, the side (a sticky bucket for a percentage), that side's target and rewritten path.
 * Unclaimed requests go to the fallthrough side's default upstream, path unchanged.
 */
export function selectTarget(
  config: GatewayConfig,
  table: RouteTable,
  authorityOf: (sliceId: string) => AuthorityState | undefined,
  fallthroughTargets: Readonly<Record<Side, SideTarget>>,
  request: RequestKeys & { readonly method: string; readonly path: string },
): Target {
  const match = table.match(request.method, request.path)
  if (!match) {
    const side = config.fallthrough
    return { match, authority: side, state: undefined, side, target: fallthroughTargets[side], upstreamPath: request.path }
  }
  const state = authorityOf(match.slice.id)
  const authority = state?.authority ?? match.slice.authority
  const side = chooseSide(match.slice.id, authority, () => valueOfKey(request, match, match.slice.stickyKey) ?? `ip:${request.ip}`)
  return { match, authority, state, side, target: match.slice.sides[side], upstreamPath: renderPathTemplate(match.route.rewrite[side], match.params) }
}

/** The targets of requests no slice claims: each side's default upstream, no rewrite. */
export function fallthroughTargets(config: GatewayConfig): Readonly<Record<Side, SideTarget>> {
  return {
    legacy: { upstream: config.sides.legacy, addHeaders: {}, removeHeaders: [] },
    modern: { upstream: config.sides.modern, addHeaders: {}, removeHeaders: [] },
  }
}
