import type { AuthorityState } from '../authority/authority-store.ts'
import { modernBasisPoints } from '../config/authority-value.ts'
import type { SliceConfig, StickyKey } from '../config/types.ts'

/** A slice as the admin API shows it: config, live authority, and where each side sends each route. */
export interface SliceView {
  readonly id: string
  readonly description: string
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
  readonly routes: readonly {
    readonly method: string
    readonly path: string
    readonly legacy: { readonly upstream: string; readonly path: string }
    readonly modern: { readonly upstream: string; readonly path: string }
  }[]
}

export function sliceView(slice: SliceConfig, state: AuthorityState | undefined): SliceView {
  const authority = state?.authority ?? slice.authority
  return {
    id: slice.id,
    description: slice.description,
    authority,
    modernPercent: modernBasisPoints(authority) / 100,
    version: state?.version ?? 0,
    updatedAt: state?.updatedAt ?? null,
    actor: state?.actor ?? null,
    reason: state?.reason ?? null,
    instance: state?.instance ?? null,
    initialAuthority: slice.authority,
    stickyKey: slice.stickyKey,
    routes: slice.routes.map((route) => ({
      method: route.method,
      path: route.path.source,
      legacy: { upstream: slice.sides.legacy.upstream, path: route.rewrite.legacy.source },
      modern: { upstream: slice.sides.modern.upstream, path: route.rewrite.modern.source },
    })),
  }
}
