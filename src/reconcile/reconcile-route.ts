import { WILDCARD_PARAM } from '../config/path-template.ts'
import type { RouteConfig, SliceConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'

/** The read route a run asks for each key, and the path parameter the key fills. */
export interface ReconcileRoute {
  readonly route: RouteConfig
  readonly param: string
  /** `GET /policy/:id/status` */
  readonly name: string
}

const isRead = (route: RouteConfig): boolean => route.method === 'GET' || route.method === 'HEAD'
const nameOf = (route: RouteConfig): string => `${route.method} ${route.path.source}`
const singleParam = (route: RouteConfig): boolean => route.path.params.length === 1 && route.path.params[0] !== WILDCARD_PARAM

/**
 * The route named (`--route`, else the slice's `reconcile.route`), or the slice's only GET route
 * with exactly one path parameter. FICUS_ERR_RECONCILE_ROUTE says what to name when none fits.
 */
export function reconcileRoute(slice: SliceConfig, named: string | null): ReconcileRoute {
  const wanted = named?.trim().replace(/\s+/, ' ') ?? null
  const reads = slice.routes.filter(isRead)
  const listed = reads.map((route) => `"${nameOf(route)}"`).join(', ') || 'none'
  let route: RouteConfig | undefined
  if (wanted !== null) {
    route = reads.find((candidate) => nameOf(candidate) === wanted)
    if (!route) throw fail.reconcileRoute(`slice ${slice.id}: ${JSON.stringify(named)} is not one of its GET or HEAD routes (${listed})`)
    if (!singleParam(route)) throw fail.reconcileRoute(`slice ${slice.id}: ${wanted} must have exactly one path parameter for the key to fill`)
  } else {
    const candidates = reads.filter((candidate) => candidate.method === 'GET' && singleParam(candidate))
    route = candidates[0]
    if (candidates.length !== 1 || !route)
      throw fail.reconcileRoute(
        `slice ${slice.id}: ${candidates.length === 0 ? 'no' : candidates.length} GET route(s) with one path parameter; name the route to ask with --route "GET /template" or slices.${slice.id}.reconcile.route (reads: ${listed})`,
      )
  }
  return { route, param: route.path.params[0] as string, name: nameOf(route) }
}
