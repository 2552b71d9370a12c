import { expand, setAt, type JsonValue } from '../compare/json-pointer.ts'
import type { BodyIds, IdDirection } from '../config/types.ts'
import type { IdentityMaps } from './identity-maps.ts'

/** Ids looked up in one body at most: an answer listing more is not compared (bounded work off the request path). */
export const MAX_BODY_IDS = 1_000

export type MappedBody =
  | { readonly kind: 'mapped'; readonly body: JsonValue }
  | { readonly kind: 'missing-identity' | 'identity-unavailable'; readonly map: string; readonly path: string }

/**
 * The ids inside one side's body replaced by the other side's (translate.<side>.ids), before the
 * translation rules run: every scalar at each pointer (`*` segments) looked up, in parallel. The
 * input is not modified. Unchanged when there are no rules.
 */
export async function mapBodyIds(maps: IdentityMaps, rules: readonly BodyIds[], direction: IdDirection, body: JsonValue): Promise<MappedBody> {
  if (rules.length === 0 || body === null || typeof body !== 'object') return { kind: 'mapped', body }
  const found = rules.flatMap((rule) =>
    expand(body, [...rule.segments]).flatMap(({ segments, value }) =>
      typeof value === 'string' || typeof value === 'number' ? [{ rule, segments, value, id: String(value) }] : [],
    ),
  )
  if (found.length > MAX_BODY_IDS) return { kind: 'identity-unavailable', map: found[0]?.rule.map ?? '', path: `more than ${MAX_BODY_IDS} ids` }
  const lookups = await Promise.all(found.map((place) => maps.lookup(place.rule.map, direction, place.id)))
  const mapped = structuredClone(body)
  for (const [at, lookup] of lookups.entries()) {
    const place = found[at]
    if (!place) continue
    if (lookup.kind !== 'found')
      return { kind: lookup.kind === 'missing' ? 'missing-identity' : 'identity-unavailable', map: place.rule.map, path: place.rule.path }
    setAt(mapped, place.segments, sameType(place.value, lookup.id))
  }
  return { kind: 'mapped', body: mapped }
}

/** The mapped id as the JSON type the body had: a number stays a number when the mapped id is one. */
function sameType(original: string | number, id: string): string | number {
  if (typeof original === 'string') return id
  const number = Number(id)
  return id.trim() !== '' && Number.isFinite(number) && String(number) === id ? number : id
}
