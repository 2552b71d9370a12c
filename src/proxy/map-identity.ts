import { renderPathTemplate } from '../config/path-template.ts'
import { SIDES } from '../config/schema.ts'
import { fail } from '../errors/errors.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import { mapRequestIds, type UnmappedId } from '../identity/map-request.ts'
import type { IdentityParam } from '../config/types.ts'
import type { Target } from './select-target.ts'

/** The authoritative call after its ids were mapped: possibly another side (the slice's `client-side` rule). */
export interface MappedTarget {
  readonly chosen: Target
  /** The query string the upstream gets. */
  readonly query: string
  /** Headers set to mapped ids. */
  readonly headers: Readonly<Record<string, string>>
}

/** True when the chosen side is called with ids the client does not send (a route's `ids`). */
export function needsIdentity(chosen: Target): boolean {
  return chosen.match?.route.ids.some((id) => id.side === chosen.side) ?? false
}

/** Methods a `client-side` rule may send to the client's side: reads. A write goes nowhere rather than to the side that no longer holds authority. */
const FALLBACK_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Stage 2b: the ids of the authoritative call mapped through the route's identity maps, each
 * lookup bounded by its map's timeout. No usable mapping, or no answer in time: the slice's rule —
 * `client-side` sends a read to the side whose ids the client sent; `error` (and any write) answers
 * 404 FICUS_ERR_IDENTITY_MISSING (503 FICUS_ERR_IDENTITY_UNAVAILABLE), forwarding nothing.
 */
export async function mapIdentity(
  maps: IdentityMaps | undefined,
  chosen: Target,
  request: { readonly method: string; readonly query: string; readonly headers: Readonly<Record<string, string | string[] | undefined>> },
  onFallback?: (slice: string) => void,
): Promise<MappedTarget> {
  const { match } = chosen
  if (!match) return { chosen, query: request.query, headers: {} }
  const mapped = maps
    ? await mapRequestIds(maps, match.route.ids, chosen.side, { params: match.params, query: request.query, headers: request.headers })
    : notOpened(match.route.ids.find((id) => id.side === chosen.side))
  if (mapped.kind === 'mapped') {
    return {
      chosen: { ...chosen, upstreamPath: renderPathTemplate(match.route.rewrite[chosen.side], mapped.params) },
      query: mapped.query,
      headers: mapped.headers,
    }
  }
  if (match.slice.missingIdentity === 'error' || !FALLBACK_METHODS.has(request.method)) throw unmappedError(mapped, chosen.side)
  onFallback?.(match.slice.id)
  const side = SIDES.find((candidate) => candidate !== chosen.side) ?? 'legacy'
  return {
    chosen: { ...chosen, side, target: match.slice.sides[side], upstreamPath: renderPathTemplate(match.route.rewrite[side], match.params) },
    query: request.query,
    headers: {},
  }
}

/** What a gateway built without identity maps (a test, an embedding) says about a route that needs them. */
function notOpened(id: IdentityParam | undefined): UnmappedId {
  return { kind: 'identity-unavailable', map: id?.map ?? '', from: id?.from ?? 'param', name: id?.name ?? '', reason: 'the identity maps were not opened' }
}

function unmappedError(unmapped: UnmappedId, side: string): Error {
  const what = `the ${unmapped.from} ${JSON.stringify(unmapped.name)}`
  const why = unmapped.reason === undefined ? '' : ` (${unmapped.reason})`
  if (unmapped.kind === 'missing-identity')
    return fail.identityMissing(
      `the identity map ${JSON.stringify(unmapped.map)} has no usable ${side} id for ${what} of this request${why}, so its ${side} side cannot be asked`,
    )
  return fail.identityUnavailable(`the identity map ${JSON.stringify(unmapped.map)} did not answer in time for ${what} of this request${why}; retry`)
}
