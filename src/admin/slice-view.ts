import type { AuthorityState } from '../authority/authority-store.ts'
import { modernBasisPoints } from '../model/authority-value.ts'
import type { SliceConfig, SliceOwner, StickyKey } from '../config/types.ts'
import type { BreakerState, CircuitBreakers } from '../upstream/circuit-breakers.ts'

/** A slice as the admin API shows it: config, live authority, and where each side sends each route. */
export interface SliceView {
  readonly id: string
  readonly description: string
  /** The team that owns the slice's decision, and its contact; null when the config names none. */
  readonly owner: SliceOwner | null
  readonly authority: string
  /** Share of requests the modern side answers, in percent. */
  readonly modernPercent: number
  readonly version: number
  readonly updatedAt: string | null
  readonly actor: string | null
  readonly reason: string | null
  readonly instance: string | null
  readonly initialAuthority: string
  readonly stickyKey: StickyKey | null
  /** Shadow settings in force; null when the slice is not shadowed. */
  readonly shadow: {
    readonly samplePercent: number
    readonly writes: { readonly legacy: string | null; readonly modern: string | null }
    readonly translationVersion: string | null
  } | null
  /** Circuit breaker state of each side's upstream, for client and shadow traffic. */
  readonly breakers: Readonly<Record<'legacy' | 'modern', { readonly upstream: string; readonly primary: BreakerState; readonly shadow: BreakerState }>>
  readonly routes: readonly {
    readonly method: string
    readonly path: string
    readonly legacy: { readonly upstream: string; readonly path: string }
    readonly modern: { readonly upstream: string; readonly path: string }
  }[]
}

export function sliceView(slice: SliceConfig, state: AuthorityState | undefined, breakers: Pick<CircuitBreakers, 'state'>): SliceView {
  const authority = state?.authority ?? slice.authority
  const breakerView = (side: 'legacy' | 'modern') => {
    const upstream = slice.sides[side].upstream
    return { upstream, primary: breakers.state(upstream, 'primary', slice.id), shadow: breakers.state(upstream, 'shadow', slice.id) }
  }
  return {
    id: slice.id,
    description: slice.description,
    owner: slice.owner,
    authority,
    modernPercent: modernBasisPoints(authority) / 100,
    version: state?.version ?? 0,
    updatedAt: state?.updatedAt ?? null,
    actor: state?.actor ?? null,
    reason: state?.reason ?? null,
    instance: state?.instance ?? null,
    initialAuthority: slice.authority,
    stickyKey: slice.stickyKey,
    shadow: slice.shadow
      ? {
          samplePercent: slice.shadow.sampleBasisPoints / 100,
          writes: { legacy: slice.shadow.writes.legacy?.kind ?? null, modern: slice.shadow.writes.modern?.kind ?? null },
          translationVersion: slice.compare.translationVersion,
        }
      : null,
    breakers: { legacy: breakerView('legacy'), modern: breakerView('modern') },
    routes: slice.routes.map((route) => ({
      method: route.method,
      path: route.path.source,
      legacy: { upstream: slice.sides.legacy.upstream, path: route.rewrite.legacy.source },
      modern: { upstream: slice.sides.modern.upstream, path: route.rewrite.modern.source },
    })),
  }
}
