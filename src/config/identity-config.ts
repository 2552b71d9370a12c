import type { ConfigIssue } from '../errors/errors.ts'
import { parsePointer } from '../compare/json-pointer.ts'
import { DEFAULT_IDENTITY_CACHE, DEFAULT_IDENTITY_LOOKUP_TIMEOUT_MS } from './defaults.ts'
import { HEADER_NAME, isManagedHeader, KEBAB_ID, MAX_ID_LENGTH } from './names.ts'
import type { PathTemplate } from './path-template.ts'
import { formatPath } from './schema-errors.ts'
import { SIDES, type IdentityMapInput, type IdentityParamInput, type Side, type TranslateInput } from './schema.ts'
import type { BodyIds, IdentityMapConfig, IdentityParam } from './types.ts'

// Identity maps of routes.config.ts: the maps themselves, the request values routes map through
// them, and the body ids translation rules map. Validation only: the pairs are read at start.

export function resolveIdentityMaps(input: Readonly<Record<string, IdentityMapInput>> | undefined, issues: ConfigIssue[]): Map<string, IdentityMapConfig> {
  const maps = new Map<string, IdentityMapConfig>()
  for (const [name, map] of Object.entries(input ?? {})) {
    const at = ['identityMaps', name]
    if (!KEBAB_ID.test(name) || name.length > MAX_ID_LENGTH)
      issues.push({ path: formatPath(at), message: 'identity map names are kebab-case: lower-case letters and digits separated by "-" (at most 64)' })
    const source = sourceOf(map, at, issues)
    if (!source) continue
    maps.set(name, {
      name,
      description: map.description ?? '',
      source,
      cache: { ...DEFAULT_IDENTITY_CACHE, ...(map.cache?.entries === undefined ? {} : { entries: map.cache.entries }), ...definedTtls(map.cache) },
      lookupTimeoutMs: map.lookupTimeoutMs ?? DEFAULT_IDENTITY_LOOKUP_TIMEOUT_MS,
    })
  }
  return maps
}

function definedTtls(cache: IdentityMapInput['cache']): { ttlMs?: number; missTtlMs?: number } {
  return {
    ...(cache?.ttlMs === undefined ? {} : { ttlMs: cache.ttlMs }),
    ...(cache?.missTtlMs === undefined ? {} : { missTtlMs: cache.missTtlMs }),
  }
}

function sourceOf(map: IdentityMapInput, at: string[], issues: ConfigIssue[]): IdentityMapConfig['source'] | undefined {
  if ((map.file === undefined) === (map.redis === undefined)) {
    issues.push({ path: formatPath(at), message: 'must name exactly one of file or redis' })
    return undefined
  }
  if (map.file === undefined) return { kind: 'redis' }
  const format = map.file.endsWith('.csv') ? 'csv' : map.file.endsWith('.jsonl') ? 'jsonl' : undefined
  if (format === undefined) {
    issues.push({ path: formatPath([...at, 'file']), message: `must end in .csv or .jsonl (got ${JSON.stringify(map.file)})` })
    return undefined
  }
  return { kind: 'file', file: map.file, format }
}

/** A route's `ids`: each names exactly one request value, an identity map the config declares, and the side that gets the mapped value. */
export function resolveRouteIds(
  input: readonly IdentityParamInput[] | undefined,
  path: PathTemplate,
  at: (string | number)[],
  maps: ReadonlyMap<string, IdentityMapConfig>,
  issues: ConfigIssue[],
): IdentityParam[] {
  const resolved: IdentityParam[] = []
  for (const [index, entry] of (input ?? []).entries()) {
    const where = [...at, 'ids', index]
    const given = (['param', 'query', 'header'] as const).filter((from) => entry[from] !== undefined)
    const from = given[0]
    const name = from === undefined ? undefined : entry[from]
    if (given.length !== 1 || from === undefined || name === undefined) {
      issues.push({ path: formatPath(where), message: `must name exactly one of param, query or header (got ${given.length})` })
      continue
    }
    if (from === 'param' && !path.params.includes(name))
      issues.push({ path: formatPath([...where, 'param']), message: `":${name}" is not a parameter of the route path ${JSON.stringify(path.source)}` })
    if (from === 'header' && !HEADER_NAME.test(name))
      issues.push({ path: formatPath([...where, 'header']), message: `${JSON.stringify(name)} is not a valid header name` })
    else if (from === 'header' && isManagedHeader(name))
      issues.push({ path: formatPath([...where, 'header']), message: `${JSON.stringify(name)} is managed by the gateway and cannot be mapped` })
    const twice = resolved.find((earlier) => earlier.from === from && earlier.name === (from === 'header' ? name.toLowerCase() : name))
    if (twice) issues.push({ path: formatPath(where), message: `maps the ${from} ${JSON.stringify(name)} a second time` })
    checkMap(entry.map, [...where, 'map'], maps, issues)
    const client: Side = entry.client ?? 'legacy'
    const side = SIDES.find((candidate) => candidate !== client) ?? 'modern'
    resolved.push({ from, name: from === 'header' ? name.toLowerCase() : name, map: entry.map, side })
  }
  return resolved
}

/** `translate.<side>.ids` of a slice: pointers into that side's body, each to a declared map. */
export function resolveBodyIds(
  translate: TranslateInput | undefined,
  at: (string | number)[],
  maps: ReadonlyMap<string, IdentityMapConfig>,
  issues: ConfigIssue[],
): Record<Side, BodyIds[]> {
  const result = { legacy: [], modern: [] } as Record<Side, BodyIds[]>
  for (const side of SIDES) {
    for (const [path, map] of Object.entries(translate?.[side]?.ids ?? {})) {
      const where = [...at, 'translate', side, 'ids', path]
      if (!path.startsWith('/')) {
        issues.push({ path: formatPath(where), message: `must be a JSON pointer starting with "/" (got ${JSON.stringify(path)})` })
        continue
      }
      checkMap(map, where, maps, issues)
      result[side].push({ path, segments: parsePointer(path), map })
    }
  }
  // Mapping one place on both sides swaps the ids in both bodies: they could never agree.
  for (const { path } of result.legacy)
    if (result.modern.some((other) => other.path === path))
      issues.push({
        path: formatPath([...at, 'translate', 'modern', 'ids', path]),
        message: `maps ${path} as translate.legacy.ids does too: map an id in one side's body only`,
      })
  return result
}

function checkMap(name: string, at: (string | number)[], maps: ReadonlyMap<string, IdentityMapConfig>, issues: ConfigIssue[]): void {
  if (maps.has(name)) return
  const known = [...maps.keys()]
  issues.push({
    path: formatPath(at),
    message: `names the identity map ${JSON.stringify(name)}, which identityMaps does not declare${known.length > 0 ? ` (declared: ${known.join(', ')})` : ''}`,
  })
}
