import { createHash } from 'node:crypto'
import { parseAuthority } from './authority-value.ts'
import { configInvalid, type ConfigIssue } from '../errors.ts'
import { parsePathTemplate, templateShape, WILDCARD_PARAM, type PathTemplate } from './path-template.ts'
import { formatPath, schemaIssues } from './schema-errors.ts'
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_UPSTREAM_CONNECTIONS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  GatewayConfigSchema,
  RESERVED_SECTIONS,
  SIDES,
  type GatewayConfigInput,
  type RouteInput,
  type Side,
  type SliceInput,
  type UpstreamInput,
} from './schema.ts'
import type { GatewayConfig, RouteConfig, SideTarget, SliceConfig, StickyKey, UpstreamConfig } from './types.ts'

const SLICE_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/
const UPSTREAM_NAME = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/
const MAX_ID_LENGTH = 64
// RFC 9110 §5.1 field-name token.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Headers the gateway itself manages on the way to an upstream (RFC 9110 §7.6.1 hop-by-hop fields,
// framing, and lineage); a slice may not add or remove them.
const MANAGED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
])

/**
 * Validates a routes config and returns it resolved (defaults applied, references checked) and
 * deeply frozen. Throws FICUS_ERR_CONFIG_INVALID listing every problem found, each with its path.
 */
export function validateConfig(input: unknown, source = 'routes config'): GatewayConfig {
  const issues = [...reservedIssues(input), ...schemaIssues(GatewayConfigSchema, input)]
  if (issues.length > 0) throw configInvalid(source, issues)

  const config = input as GatewayConfigInput
  const upstreams = resolveUpstreams(config.upstreams, issues)
  // References are checked against every declared name, so a bad URL is reported once, not again at each use.
  const declared = new Set(Object.keys(config.upstreams))
  for (const side of SIDES) checkUpstreamRef(config.sides[side], ['sides', side], declared, issues)
  const slices = resolveSlices(config, declared, issues)
  if (issues.length > 0) throw configInvalid(source, issues)

  const gateway = config.gateway ?? {}
  return deepFreeze({
    name: config.name ?? 'ficus',
    version: config.version ?? `sha256:${contentHash(config)}`,
    fallthrough: gateway.fallthrough ?? 'legacy',
    responseHeaders: {
      slice: gateway.responseHeaders?.slice ?? true,
      authority: gateway.responseHeaders?.authority ?? true,
    },
    trustProxy: gateway.trustProxy ?? false,
    shutdownTimeoutMs: gateway.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    sides: { legacy: config.sides.legacy, modern: config.sides.modern },
    upstreams,
    slices,
  })
}

function reservedIssues(input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const check = (value: unknown, at: (string | number)[]): void => {
    if (value === null || typeof value !== 'object') return
    for (const [key, feature] of Object.entries(RESERVED_SECTIONS)) {
      if (key in value) {
        issues.push({
          path: formatPath([...at, key]),
          message: `is reserved for ${feature}, which this version of Ficus does not support yet; remove it`,
        })
      }
    }
  }
  check(input, [])
  const slices = (input as { slices?: unknown } | null)?.slices
  if (slices !== null && typeof slices === 'object') {
    for (const [id, slice] of Object.entries(slices)) check(slice, ['slices', id])
  }
  return issues
}

function resolveUpstreams(input: Record<string, UpstreamInput>, issues: ConfigIssue[]): Map<string, UpstreamConfig> {
  const upstreams = new Map<string, UpstreamConfig>()
  for (const [name, upstream] of Object.entries(input)) {
    const at = ['upstreams', name]
    if (!UPSTREAM_NAME.test(name) || name.length > MAX_ID_LENGTH) {
      issues.push({ path: formatPath(at), message: 'upstream name must be lower-case letters and digits separated by "-", "_" or "." (at most 64)' })
    }
    const url = parseUpstreamUrl(upstream.url, [...at, 'url'], issues)
    if (!url) continue
    upstreams.set(name, {
      name,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      connectTimeoutMs: upstream.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      timeoutMs: upstream.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
      bodyTimeoutMs: upstream.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
      connections: upstream.connections ?? DEFAULT_UPSTREAM_CONNECTIONS,
    })
  }
  return upstreams
}

function parseUpstreamUrl(raw: string, at: (string | number)[], issues: ConfigIssue[]): URL | undefined {
  const fail = (message: string): undefined => {
    issues.push({ path: formatPath(at), message })
    return undefined
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return fail(`is not a valid URL (got ${JSON.stringify(raw)})`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`must be an http:// or https:// URL (got ${JSON.stringify(url.protocol.slice(0, -1))})`)
  }
  if (url.username !== '' || url.password !== '') {
    return fail('must not carry credentials; add them as a header from the environment instead')
  }
  if (url.search !== '' || url.hash !== '') return fail('must not have a query or fragment')
  return url
}

function checkUpstreamRef(name: string, at: (string | number)[], declared: ReadonlySet<string>, issues: ConfigIssue[]): void {
  if (declared.has(name)) return
  const known = [...declared].map((key) => JSON.stringify(key)).join(', ') || 'none'
  issues.push({ path: formatPath(at), message: `unknown upstream ${JSON.stringify(name)} (declared: ${known})` })
}

function resolveSlices(config: GatewayConfigInput, declared: ReadonlySet<string>, issues: ConfigIssue[]): SliceConfig[] {
  const claimed = new Map<string, string>() // "GET /a/:" → path of the route that claimed it
  const slices: SliceConfig[] = []
  for (const [id, slice] of Object.entries(config.slices)) {
    if (!SLICE_ID.test(id) || id.length > MAX_ID_LENGTH) {
      issues.push({
        path: formatPath(['slices', id]),
        message: 'slice id must be kebab-case: lower-case letters and digits separated by "-" (at most 64), named after the business decision',
      })
    }
    const sides = {} as Record<Side, SideTarget>
    for (const side of SIDES) sides[side] = resolveSideTarget(config, slice, id, side, declared, issues)
    const routes: RouteConfig[] = []
    slice.routes.forEach((route, index) => {
      const resolved = resolveRoute(route, ['slices', id, 'routes', index], issues)
      if (!resolved) return
      const key = `${route.method} ${templateShape(resolved.path)}`
      const here = formatPath(['slices', id, 'routes', index])
      const previous = claimed.get(key)
      if (previous === undefined) claimed.set(key, here)
      else issues.push({ path: here, message: `${route.method} ${route.path} is already claimed by ${previous}` })
      routes.push(resolved)
    })
    const authority = parseAuthority(slice.authority)
    if (!authority.ok) issues.push({ path: formatPath(['slices', id, 'authority']), message: authority.error })
    const stickyKey = resolveStickyKey(slice, id, routes, issues)
    slices.push({ id, description: slice.description, authority: authority.ok ? authority.authority : 'legacy', stickyKey, routes, sides })
  }
  return slices
}

function resolveStickyKey(slice: SliceInput, id: string, routes: readonly RouteConfig[], issues: ConfigIssue[]): StickyKey | null {
  if (slice.stickyKey === undefined) return null
  const at = ['slices', id, 'stickyKey']
  const given = (['param', 'header', 'query'] as const).filter((from) => slice.stickyKey?.[from] !== undefined)
  const from = given[0]
  const name = from === undefined ? undefined : slice.stickyKey[from]
  if (given.length !== 1 || from === undefined || name === undefined) {
    issues.push({ path: formatPath(at), message: `must name exactly one of param, header or query (got ${given.length})` })
    return null
  }
  if (from === 'param') {
    const missing = routes.filter((route) => !route.path.params.includes(name)).map((route) => `${route.method} ${route.path.source}`)
    if (missing.length > 0) {
      issues.push({ path: formatPath([...at, 'param']), message: `":${name}" is not a parameter of every route of the slice (missing in ${missing.join(', ')})` })
    }
  }
  if (from === 'header' && !HEADER_NAME.test(name)) issues.push({ path: formatPath([...at, 'header']), message: `${JSON.stringify(name)} is not a valid header name` })
  return { from, name: from === 'header' ? name.toLowerCase() : name }
}

function resolveSideTarget(
  config: GatewayConfigInput,
  slice: SliceInput,
  id: string,
  side: Side,
  declared: ReadonlySet<string>,
  issues: ConfigIssue[],
): SideTarget {
  const input = slice[side] ?? {}
  const at = ['slices', id, side]
  const upstream = input.upstream ?? config.sides[side]
  if (input.upstream !== undefined) checkUpstreamRef(input.upstream, [...at, 'upstream'], declared, issues)

  const addHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(input.headers?.add ?? {})) {
    const where = [...at, 'headers', 'add', name]
    if (checkHeaderName(name, where, issues)) addHeaders[name.toLowerCase()] = value
    if (/[\r\n\0]/.test(value)) issues.push({ path: formatPath(where), message: 'header value must not contain CR, LF or NUL' })
  }
  const removeHeaders: string[] = []
  ;(input.headers?.remove ?? []).forEach((name, index) => {
    if (checkHeaderName(name, [...at, 'headers', 'remove', index], issues)) removeHeaders.push(name.toLowerCase())
  })
  return { upstream, addHeaders, removeHeaders }
}

function checkHeaderName(name: string, at: (string | number)[], issues: ConfigIssue[]): boolean {
  if (!HEADER_NAME.test(name)) {
    issues.push({ path: formatPath(at), message: `${JSON.stringify(name)} is not a valid header name` })
    return false
  }
  if (MANAGED_HEADERS.has(name.toLowerCase())) {
    issues.push({ path: formatPath(at), message: `${JSON.stringify(name)} is managed by the gateway and cannot be added or removed` })
    return false
  }
  return true
}

function resolveRoute(route: RouteInput, at: (string | number)[], issues: ConfigIssue[]): RouteConfig | undefined {
  const path = parseTemplate(route.path, [...at, 'path'], issues)
  if (!path) return undefined
  const rewrite = {} as Record<Side, PathTemplate>
  for (const side of SIDES) {
    const source = route.rewrite?.[side]
    if (source === undefined) {
      rewrite[side] = path
      continue
    }
    const where = [...at, 'rewrite', side]
    const template = parseTemplate(source, where, issues)
    if (!template) continue
    const missing = template.params.filter((name) => !path.params.includes(name))
    if (missing.length > 0) {
      const names = missing.map((name) => (name === WILDCARD_PARAM ? '"*"' : `":${name}"`)).join(', ')
      issues.push({ path: formatPath(where), message: `uses ${names}, which the route path ${JSON.stringify(route.path)} does not declare` })
      continue
    }
    rewrite[side] = template
  }
  return { method: route.method, path, rewrite }
}

function parseTemplate(source: string, at: (string | number)[], issues: ConfigIssue[]): PathTemplate | undefined {
  const parsed = parsePathTemplate(source)
  if (parsed.ok) return parsed.template
  issues.push({ path: formatPath(at), message: parsed.error })
  return undefined
}

function contentHash(value: unknown): string {
  const canonical = JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12)
}

function deepFreeze<T>(value: T): T {
  if (value instanceof Map) {
    for (const inner of value.values()) deepFreeze(inner)
    return Object.freeze(value)
  }
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
