import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseAuthority } from '../model/authority-value.ts'
import { configInvalid, type ConfigIssue } from '../errors/errors.ts'
import { parsePathTemplate, templateShape, WILDCARD_PARAM, type PathTemplate } from './path-template.ts'
import { formatPath, schemaIssues } from './schema-errors.ts'
import { compileTranslation, dateParser, type Translate, type TranslationRules } from '../compare/translate.ts'
import { compileModelRules, compileSchema, formatTest, type CheckModel, type ModelRules } from '../compare/model-rules.ts'
import { DEFAULT_NOISE } from '../compare/noise-evidence.ts'
import { declaredKeys } from './declared-keys.ts'
import { resolveBodyIds, resolveIdentityMaps, resolveRouteIds } from './identity-config.ts'
import { resolveCapture, resolveCaptureSettings } from './capture-config.ts'
import { HEADER_NAME, isManagedHeader, KEBAB_ID, MAX_ID_LENGTH } from './names.ts'
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_COMPARED_HEADERS,
  DEFAULT_COMPARE_ERROR_BODIES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DRIFT,
  DEFAULT_DRY_RUN_HEADER,
  DEFAULT_EVENT_KEY,
  DEFAULT_FALLTHROUGH,
  DEFAULT_GATEWAY_NAME,
  DEFAULT_LIMITS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_MAX_RESPONSE_BODY_BYTES,
  DEFAULT_MISSING_IDENTITY,
  DEFAULT_PRIMARY_BREAKER,
  DEFAULT_PUBLISH_VALUES,
  DEFAULT_REASK_FACTOR,
  DEFAULT_REASK_MAX_MS,
  DEFAULT_RECONCILE,
  DEFAULT_RESPONSE_HEADERS,
  DEFAULT_RETRY_IDEMPOTENT,
  DEFAULT_SHADOW_BREAKER,
  DEFAULT_SHADOW_CONCURRENCY,
  DEFAULT_SHADOW_QUEUE,
  DEFAULT_SHADOW_SKIPS_INTERVAL_MS,
  DEFAULT_SHADOW_SAMPLE_PERCENT,
  DEFAULT_SHADOW_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_TRUST_PROXY,
  DEFAULT_UPSTREAM_CONNECTIONS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  DEFAULT_WEBSOCKET,
} from './defaults.ts'
import {
  GatewayConfigSchema,
  SIDES,
  type BreakerInput,
  type CompareInput,
  type ReadinessInput,
  type GatewayConfigInput,
  type ShadowInput,
  type WriteSafetyInput,
  type TranslateInput,
  type RouteInput,
  type Side,
  type SliceInput,
  type UpstreamInput,
} from './schema.ts'
import { DEFAULT_READINESS, type ReadinessThresholds } from './readiness-thresholds.ts'
import { DEFAULT_WORKERS } from './workers.ts'
import type {
  BreakerConfig,
  CompareConfig,
  GatewayConfig,
  IdentityMapConfig,
  ReconcileSettings,
  RouteConfig,
  ShadowConfig,
  SideTarget,
  SliceConfig,
  StickyKey,
  UpstreamConfig,
  UpstreamTls,
  WriteSafety,
} from './types.ts'

const UPSTREAM_NAME = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/

/**
 * Validates a routes config and returns it resolved (defaults applied, references checked) and
 * deeply frozen. Throws FICUS_ERR_CONFIG_INVALID listing every problem found, each with its path.
 */
export function validateConfig(input: unknown, source = 'routes config'): GatewayConfig {
  const issues = schemaIssues(GatewayConfigSchema, input)
  if (issues.length > 0) throw configInvalid(source, issues)

  const config = input as GatewayConfigInput
  const upstreams = resolveUpstreams(config.upstreams, issues)
  // References are checked against every declared name, so a bad URL is reported once, not again at each use.
  const declared = new Set(Object.keys(config.upstreams))
  for (const side of SIDES) checkUpstreamRef(config.sides[side], ['sides', side], declared, issues)
  const identityMaps = resolveIdentityMaps(config.identityMaps, issues)
  const slices = resolveSlices(config, declared, identityMaps, issues)
  const limits = { ...DEFAULT_LIMITS, ...config.gateway?.limits }
  if (limits.requestTimeoutMs !== 0 && limits.requestTimeoutMs < limits.headerTimeoutMs) {
    issues.push({
      path: 'gateway.limits.requestTimeoutMs',
      message: `must be 0 (none) or at least headerTimeoutMs (${limits.headerTimeoutMs}): the whole request cannot take less than its head`,
    })
  }
  for (const [index, name] of (config.gateway?.ownedHeaders ?? []).entries()) {
    if (!HEADER_NAME.test(name))
      issues.push({ path: formatPath(['gateway', 'ownedHeaders', index]), message: `${JSON.stringify(name)} is not a valid header name` })
  }
  if (issues.length > 0) throw configInvalid(source, issues)

  const gateway = config.gateway ?? {}
  return deepFreeze({
    name: config.name ?? DEFAULT_GATEWAY_NAME,
    version: config.version ?? `sha256:${contentHash(config)}`,
    fallthrough: gateway.fallthrough ?? DEFAULT_FALLTHROUGH,
    responseHeaders: {
      slice: gateway.responseHeaders?.slice ?? DEFAULT_RESPONSE_HEADERS.slice,
      authority: gateway.responseHeaders?.authority ?? DEFAULT_RESPONSE_HEADERS.authority,
    },
    trustProxy: gateway.trustProxy ?? DEFAULT_TRUST_PROXY,
    shutdownTimeoutMs: gateway.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    workers: gateway.workers ?? DEFAULT_WORKERS,
    sides: { legacy: config.sides.legacy, modern: config.sides.modern },
    shadowLimits: {
      concurrency: gateway.shadow?.concurrency ?? DEFAULT_SHADOW_CONCURRENCY,
      queue: gateway.shadow?.queue ?? DEFAULT_SHADOW_QUEUE,
      skipsIntervalMs: gateway.shadow?.skipsIntervalMs ?? DEFAULT_SHADOW_SKIPS_INTERVAL_MS,
    },
    ownedHeaders: ownedHeaders(gateway.ownedHeaders ?? [], slices),
    limits,
    upstreams,
    slices,
    identityMaps,
    capture: resolveCaptureSettings(config.capture),
  })
}

/**
 * Header names only the gateway may set, besides every `x-ficus-*`: the configured ones and every
 * dry-run header a slice uses. They are removed from client requests before any upstream sees them.
 */
function ownedHeaders(configured: readonly string[], slices: readonly SliceConfig[]): ReadonlySet<string> {
  const names = new Set(configured.map((name) => name.toLowerCase()))
  for (const slice of slices) {
    for (const side of SIDES) {
      const safety = slice.shadow?.writes[side]
      if (safety?.kind === 'dry-run-header') names.add(safety.name)
    }
  }
  return names
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
      breakers: {
        primary: resolveBreaker(upstream.breaker?.primary, DEFAULT_PRIMARY_BREAKER),
        shadow: resolveBreaker(upstream.breaker?.shadow, DEFAULT_SHADOW_BREAKER),
      },
      retryIdempotent: upstream.retry?.idempotent ?? DEFAULT_RETRY_IDEMPOTENT,
      tls: resolveTls(upstream.tls, url, [...at, 'tls'], issues),
    })
  }
  return upstreams
}

/** Reads the TLS files of an upstream (paths from the working directory); each unreadable one is named. */
function resolveTls(input: UpstreamInput['tls'], url: URL, at: (string | number)[], issues: ConfigIssue[]): UpstreamTls | null {
  if (input === undefined) return null
  if (url.protocol !== 'https:') issues.push({ path: formatPath(at), message: 'is only for https upstreams' })
  if ((input.certFile === undefined) !== (input.keyFile === undefined))
    issues.push({ path: formatPath(at), message: 'certFile and keyFile go together (mutual TLS)' })
  const read = (field: 'caFile' | 'certFile' | 'keyFile'): string | undefined => {
    const file = input[field]
    if (file === undefined) return undefined
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      issues.push({ path: formatPath([...at, field]), message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (${file})` })
      return undefined
    }
  }
  const ca = read('caFile')
  const cert = read('certFile')
  const key = read('keyFile')
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(input.servername === undefined ? {} : { servername: input.servername }),
    ...(input.minVersion === undefined ? {} : { minVersion: input.minVersion }),
    rejectUnauthorized: input.insecureSkipVerify !== true,
  }
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

function resolveSlices(
  config: GatewayConfigInput,
  declared: ReadonlySet<string>,
  maps: ReadonlyMap<string, IdentityMapConfig>,
  issues: ConfigIssue[],
): SliceConfig[] {
  const claimed = new Map<string, string>() // "GET /a/:" → path of the route that claimed it
  const slices: SliceConfig[] = []
  for (const [id, slice] of Object.entries(config.slices)) {
    if (!KEBAB_ID.test(id) || id.length > MAX_ID_LENGTH) {
      issues.push({
        path: formatPath(['slices', id]),
        message: 'slice id must be kebab-case: lower-case letters and digits separated by "-" (at most 64), named after the business decision',
      })
    }
    const sides = {} as Record<Side, SideTarget>
    for (const side of SIDES) sides[side] = resolveSideTarget(config, slice, id, side, declared, issues)
    const routes: RouteConfig[] = []
    slice.routes.forEach((route, index) => {
      const resolved = resolveRoute(route, ['slices', id, 'routes', index], maps, issues)
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
    const stickyKey = resolveKey(slice.stickyKey, ['slices', id, 'stickyKey'], routes, issues, 'every')
    // An entity key is recorded where a route has it: one route declaring the parameter is enough.
    const entityKey = resolveKey(slice.entityKey, ['slices', id, 'entityKey'], routes, issues, 'some')
    const shadow = resolveShadow(slice.shadow, ['slices', id, 'shadow'], declared, issues)
    const capture = resolveCapture(slice.capture, shadow, ['slices', id, 'capture'], issues)
    const compare = resolveCompare(slice.compare, slice.translate, ['slices', id], maps, issues)
    if (slice.eventKey === 'entity' && entityKey === null)
      issues.push({ path: formatPath(['slices', id, 'eventKey']), message: '"entity" needs the slice to declare an entityKey (or use "request")' })
    const readiness = resolveReadiness(config.readiness, slice.readiness)
    slices.push({
      id,
      description: slice.description,
      owner: slice.owner ?? null,
      authority: authority.ok ? authority.authority : 'legacy',
      stickyKey,
      entityKey,
      // The default keys by entity where the slice names one, by request otherwise: spread either way.
      eventKey: slice.eventKey ?? (entityKey === null ? 'request' : DEFAULT_EVENT_KEY),
      websocket: slice.websocket ?? DEFAULT_WEBSOCKET,
      shadow,
      capture,
      compare,
      readiness,
      routes,
      sides,
      missingIdentity: slice.missingIdentity ?? DEFAULT_MISSING_IDENTITY,
      reconcile: resolveReconcile(slice.reconcile, routes, ['slices', id, 'reconcile'], issues),
      drift:
        slice.drift === false
          ? null
          : {
              minAgreementPercent: slice.drift?.minAgreement ?? DEFAULT_DRIFT.minAgreementPercent,
              windowHours: slice.drift?.windowHours ?? DEFAULT_DRIFT.windowHours,
              minSamples: slice.drift?.minSamples ?? DEFAULT_DRIFT.minSamples,
            },
    })
  }
  return slices
}

/** A slice's reconciliation settings; a named route must be one of its reads (GET or HEAD). */
function resolveReconcile(input: SliceInput['reconcile'], routes: readonly RouteConfig[], at: (string | number)[], issues: ConfigIssue[]): ReconcileSettings {
  const route = input?.route?.trim().replace(/\s+/, ' ') ?? null
  if (
    route !== null &&
    !routes.some((candidate) => (candidate.method === 'GET' || candidate.method === 'HEAD') && `${candidate.method} ${candidate.path.source}` === route)
  ) {
    const reads = routes
      .filter((candidate) => candidate.method === 'GET' || candidate.method === 'HEAD')
      .map((candidate) => `"${candidate.method} ${candidate.path.source}"`)
    issues.push({
      path: formatPath([...at, 'route']),
      message: `must be one of the slice's GET or HEAD routes as "METHOD /template" (got ${JSON.stringify(input?.route)}; reads: ${reads.join(', ') || 'none'})`,
    })
  }
  return {
    route,
    ratePerSecond: input?.ratePerSecond ?? DEFAULT_RECONCILE.ratePerSecond,
    concurrency: input?.concurrency ?? DEFAULT_RECONCILE.concurrency,
    minAgreementPercent: input?.thresholds?.minAgreement ?? DEFAULT_RECONCILE.minAgreementPercent,
    maxErrorPercent: input?.thresholds?.maxErrorPercent ?? DEFAULT_RECONCILE.maxErrorPercent,
  }
}

function resolveKey(
  input: SliceInput['stickyKey'],
  at: (string | number)[],
  routes: readonly RouteConfig[],
  issues: ConfigIssue[],
  routesNeeding: 'every' | 'some',
): StickyKey | null {
  if (input === undefined) return null
  const given = (['param', 'header', 'query'] as const).filter((from) => input[from] !== undefined)
  const from = given[0]
  const name = from === undefined ? undefined : input[from]
  if (given.length !== 1 || from === undefined || name === undefined) {
    issues.push({ path: formatPath(at), message: `must name exactly one of param, header or query (got ${given.length})` })
    return null
  }
  if (from === 'param') {
    const missing = routes.filter((route) => !route.path.params.includes(name)).map((route) => `${route.method} ${route.path.source}`)
    if (routesNeeding === 'some' && missing.length === routes.length) {
      issues.push({ path: formatPath([...at, 'param']), message: `":${name}" is not a parameter of any route of the slice` })
    } else if (routesNeeding === 'every' && missing.length > 0) {
      issues.push({
        path: formatPath([...at, 'param']),
        message: `":${name}" is not a parameter of every route of the slice (missing in ${missing.join(', ')})`,
      })
    }
  }
  if (from === 'header' && !HEADER_NAME.test(name))
    issues.push({ path: formatPath([...at, 'header']), message: `${JSON.stringify(name)} is not a valid header name` })
  return { from, name: from === 'header' ? name.toLowerCase() : name }
}

function resolveBreaker(input: BreakerInput | undefined, defaults: BreakerConfig): BreakerConfig | null {
  if (input?.enabled === false) return null
  return {
    countServerErrors: input?.countServerErrors ?? defaults.countServerErrors,
    errorThresholdPercentage: input?.errorThresholdPercentage ?? defaults.errorThresholdPercentage,
    volumeThreshold: input?.volumeThreshold ?? defaults.volumeThreshold,
    resetTimeoutMs: input?.resetTimeoutMs ?? defaults.resetTimeoutMs,
    rollingWindowMs: input?.rollingWindowMs ?? defaults.rollingWindowMs,
  }
}

function resolveReadiness(gateway: ReadinessInput | undefined, slice: ReadinessInput | undefined): ReadinessThresholds {
  const pick = <K extends keyof ReadinessInput>(key: K): ReadinessInput[K] => slice?.[key] ?? gateway?.[key]
  const latency = slice?.latency ?? gateway?.latency
  const percentile = (slice?.latency || undefined)?.percentile ?? (gateway?.latency || undefined)?.percentile
  return {
    minSamples: pick('minSamples') ?? DEFAULT_READINESS.minSamples,
    minMatchRatePercent: pick('minMatchRate') ?? DEFAULT_READINESS.minMatchRatePercent,
    maxConflictRatePercent: pick('maxConflictRate') ?? DEFAULT_READINESS.maxConflictRatePercent,
    maxShadowErrorRatePercent: pick('maxShadowErrorRate') ?? DEFAULT_READINESS.maxShadowErrorRatePercent,
    latencyPercentile: percentile ?? DEFAULT_READINESS.latencyPercentile,
    maxLatencyRatio:
      latency === false ? null : ((slice?.latency || undefined)?.maxRatio ?? (gateway?.latency || undefined)?.maxRatio ?? DEFAULT_READINESS.maxLatencyRatio),
    minSoakHours: pick('minSoakHours') ?? DEFAULT_READINESS.minSoakHours,
    maxTranslationDefectRatePercent: pick('maxTranslationDefectRate') ?? DEFAULT_READINESS.maxTranslationDefectRatePercent,
    maxSourceDataDefectRatePercent: pick('maxSourceDataDefectRate') ?? DEFAULT_READINESS.maxSourceDataDefectRatePercent,
    maxNotComparedRatePercent: pick('maxNotComparedRate') ?? DEFAULT_READINESS.maxNotComparedRatePercent,
    maxLagRatePercent: pick('maxLagRate') ?? DEFAULT_READINESS.maxLagRatePercent,
    maxLagP95Ms: pick('maxLagP95Ms') ?? DEFAULT_READINESS.maxLagP95Ms,
    windowDays: pick('windowDays') ?? DEFAULT_READINESS.windowDays,
    maxOpenConflictAgeDays: pick('maxOpenConflictAgeDays') ?? DEFAULT_READINESS.maxOpenConflictAgeDays,
  }
}

function percentToBasisPoints(percent: number): number {
  return Math.round(percent * 100)
}

function resolveWriteSafety(input: WriteSafetyInput, at: (string | number)[], declared: ReadonlySet<string>, issues: ConfigIssue[]): WriteSafety | null {
  const { dryRunHeader, sandbox } = input
  if ((dryRunHeader === undefined) === (sandbox === undefined)) {
    issues.push({ path: formatPath(at), message: 'must name exactly one safety mode: dryRunHeader or sandbox' })
    return null
  }
  if (sandbox !== undefined) {
    checkUpstreamRef(sandbox, [...at, 'sandbox'], declared, issues)
    return { kind: 'sandbox', upstream: sandbox }
  }
  const name = dryRunHeader?.name ?? DEFAULT_DRY_RUN_HEADER.name
  const value = dryRunHeader?.value ?? DEFAULT_DRY_RUN_HEADER.value
  // The dry-run header is one the gateway owns: the check of managed names does not apply to it.
  if (!HEADER_NAME.test(name)) {
    issues.push({ path: formatPath([...at, 'dryRunHeader', 'name']), message: `${JSON.stringify(name)} is not a valid header name` })
    return null
  }
  return { kind: 'dry-run-header', name: name.toLowerCase(), value }
}

/** Each side's write safety; `dryRunHeader` or `sandbox` at the top is shorthand for `modern`. */
function resolveWrites(input: ShadowInput['writes'], at: (string | number)[], declared: ReadonlySet<string>, issues: ConfigIssue[]): ShadowConfig['writes'] {
  if (input === undefined) return { legacy: null, modern: null }
  const { legacy, modern, ...shorthand } = input
  const hasShorthand = shorthand.dryRunHeader !== undefined || shorthand.sandbox !== undefined
  if (hasShorthand && modern !== undefined)
    issues.push({ path: formatPath(at), message: 'give the modern side’s safety either at the top (shorthand) or under modern, not both' })
  if (!hasShorthand && legacy === undefined && modern === undefined)
    issues.push({ path: formatPath(at), message: 'must name a safety mode for legacy, modern or both (dryRunHeader or sandbox)' })
  return {
    legacy: legacy === undefined ? null : resolveWriteSafety(legacy, [...at, 'legacy'], declared, issues),
    modern:
      modern !== undefined
        ? resolveWriteSafety(modern, [...at, 'modern'], declared, issues)
        : hasShorthand
          ? resolveWriteSafety(shorthand, at, declared, issues)
          : null,
  }
}

function resolveShadow(input: ShadowInput | undefined, at: (string | number)[], declared: ReadonlySet<string>, issues: ConfigIssue[]): ShadowConfig | null {
  if (input === undefined) return null
  const writes = resolveWrites(input.writes, [...at, 'writes'], declared, issues)
  return {
    sampleBasisPoints: percentToBasisPoints(input.sample ?? DEFAULT_SHADOW_SAMPLE_PERCENT),
    timeoutMs: input.timeoutMs ?? DEFAULT_SHADOW_TIMEOUT_MS,
    maxRequestBodyBytes: input.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
    maxResponseBodyBytes: input.maxResponseBodyBytes ?? DEFAULT_MAX_RESPONSE_BODY_BYTES,
    writes,
    reask:
      input.reask === undefined
        ? null
        : {
            delayMs: input.reask.delayMs,
            factor: input.reask.factor ?? DEFAULT_REASK_FACTOR,
            maxMs: input.reask.maxMs ?? Math.max(DEFAULT_REASK_MAX_MS, input.reask.delayMs),
          },
    noiseBasisPoints: percentToBasisPoints(input.noise?.sample ?? 0),
    noise: {
      minSelfDifferences: input.noise?.minSelfDifferences ?? DEFAULT_NOISE.minSelfDifferences,
      minRatio: input.noise?.minRatio === undefined ? DEFAULT_NOISE.minRatio : input.noise.minRatio / 100,
      windowMs: input.noise?.windowMs ?? DEFAULT_NOISE.windowMs,
      ttlMs: input.noise?.ttlMs ?? DEFAULT_NOISE.ttlMs,
    },
  }
}

function checkPointers(paths: Iterable<string>, at: (string | number)[], issues: ConfigIssue[]): void {
  for (const path of paths) {
    if (!path.startsWith('/'))
      issues.push({ path: formatPath(at), message: `${JSON.stringify(path)} is not a JSON pointer (it must start with "/", e.g. "/policy/status")` })
  }
}

function resolveRules(input: TranslationRules | undefined, at: (string | number)[], issues: ConfigIssue[]): Translate | undefined {
  if (input === undefined) return undefined
  let valid = true
  const check = (paths: Iterable<string>, key: string): void => {
    const before = issues.length
    checkPointers(paths, [...at, key], issues)
    valid &&= issues.length === before
  }
  const rename = input.rename ?? {}
  check([...Object.keys(rename), ...Object.values(rename)], 'rename')
  check(Object.keys(input.values ?? {}), 'values')
  check(Object.keys(input.set ?? {}), 'set')
  check(input.remove ?? [], 'remove')
  check(Object.keys(input.coerce ?? {}), 'coerce')
  for (const [path, coercion] of Object.entries(input.coerce ?? {})) {
    const where = [...at, 'coerce', path]
    if (!['number', 'string', 'boolean'].includes(coercion) && !coercion.startsWith('date:')) {
      issues.push({
        path: formatPath(where),
        message: `must be "number", "string", "boolean" or "date:<format>" such as "date:YYYYMMDD" (got ${JSON.stringify(coercion)})`,
      })
      valid = false
    } else if (coercion.startsWith('date:')) {
      try {
        dateParser(coercion.slice(5))
      } catch (err) {
        issues.push({ path: formatPath(where), message: (err as Error).message })
        valid = false
      }
    }
  }
  if (input.fn !== undefined && typeof input.fn !== 'function') {
    issues.push({ path: formatPath([...at, 'fn']), message: 'must be a function (body) => body' })
    valid = false
  }
  return valid ? compileTranslation(input) : undefined
}

function resolveModel(input: ModelRules | undefined, at: (string | number)[], issues: ConfigIssue[]): CheckModel | undefined {
  if (input === undefined) return undefined
  const before = issues.length
  checkPointers(input.required ?? [], [...at, 'required'], issues)
  checkPointers(Object.keys(input.values ?? {}), [...at, 'values'], issues)
  checkPointers(Object.keys(input.ranges ?? {}), [...at, 'ranges'], issues)
  checkPointers(Object.keys(input.formats ?? {}), [...at, 'formats'], issues)
  for (const [path, format] of Object.entries(input.formats ?? {})) {
    try {
      formatTest(format)
    } catch (err) {
      issues.push({ path: formatPath([...at, 'formats', path]), message: (err as Error).message })
    }
  }
  for (const [path, range] of Object.entries(input.ranges ?? {})) {
    if (range.min === undefined && range.max === undefined) issues.push({ path: formatPath([...at, 'ranges', path]), message: 'needs min, max or both' })
    else if (range.min !== undefined && range.max !== undefined && range.min > range.max)
      issues.push({ path: formatPath([...at, 'ranges', path]), message: `min ${range.min} is above max ${range.max}` })
  }
  if (input.schema !== undefined) {
    try {
      compileSchema(input.schema)
    } catch (err) {
      issues.push({ path: formatPath([...at, 'schema']), message: `is not a valid JSON Schema: ${(err as Error).message}` })
    }
  }
  return issues.length === before ? compileModelRules(input) : undefined
}

/**
 * The hash of a slice's effective translate, compare and model rules (functions by their source):
 * what a comparison's verdict depends on, and nothing else — an upstream URL, another slice or a
 * description leave it alone. Evidence belongs to the rules it was made under.
 */
function rulesHash(compare: CompareInput | undefined, translate: TranslateInput | undefined): string {
  // What is published in clear (values, keys, untranslated codes) does not change a verdict.
  const { values: _published, clearKeys: _clearKeys, clearUntranslated: _clearUntranslated, ...judged } = compare ?? {}
  const text = canonical({ compare: judged, translate: translate ?? null })
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`
}

/** JSON with sorted keys, functions as their source text: equal rules, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'function') return `function:${inner.toString()}`
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner))
      return Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
    return inner
  })
}

function resolveCompare(
  input: CompareInput | undefined,
  translate: TranslateInput | undefined,
  at: (string | number)[],
  maps: ReadonlyMap<string, IdentityMapConfig>,
  issues: ConfigIssue[],
): CompareConfig {
  const where = [...at, 'compare']
  checkPointers(input?.ignore ?? [], [...where, 'ignore'], issues)
  checkPointers(
    (input?.unorderedArrays ?? []).map((rule) => rule.path),
    [...where, 'unorderedArrays'],
    issues,
  )
  checkPointers(input?.values?.redact ?? [], [...where, 'values', 'redact'], issues)
  checkPointers(input?.clearKeys ?? [], [...where, 'clearKeys'], issues)
  checkPointers(input?.clearUntranslated ?? [], [...where, 'clearUntranslated'], issues)
  const headers = (input?.headers ?? [...DEFAULT_COMPARED_HEADERS]).map((name) => name.toLowerCase())
  headers.forEach((name, index) => {
    if (!HEADER_NAME.test(name)) issues.push({ path: formatPath([...where, 'headers', index]), message: `${JSON.stringify(name)} is not a valid header name` })
  })
  checkPointers(input?.critical ?? [], [...where, 'critical'], issues)
  const legacy = resolveRules(translate?.legacy, [...at, 'translate', 'legacy'], issues)
  const modern = resolveRules(translate?.modern, [...at, 'translate', 'modern'], issues)
  const model = resolveModel(input?.model, [...where, 'model'], issues)
  return {
    rulesHash: rulesHash(input, translate),
    critical: (input?.critical ?? []).map((path) => `/body${path}`),
    rules: {
      ...(model ? { model } : {}),
      headers,
      diff: {
        ignore: input?.ignore ?? [],
        numericTolerance: input?.numericTolerance ?? 0,
        unorderedArrays: input?.unorderedArrays ?? [],
        timestampToleranceMs: input?.timestampToleranceMs ?? 0,
      },
      errorBodies: input?.errorBodies ?? DEFAULT_COMPARE_ERROR_BODIES,
      translate: { ...(legacy ? { legacy } : {}), ...(modern ? { modern } : {}) },
    },
    translationVersion: translate?.version ?? null,
    // Values under redact paths are relative to the body, like every other compare path.
    values: {
      include: input?.values?.include ?? DEFAULT_PUBLISH_VALUES,
      redact: (input?.values?.redact ?? []).map((path) => `/body${path}`),
      clearUntranslated: (input?.clearUntranslated ?? []).map((path) => `/body${path}`),
    },
    keys: { named: declaredKeys(input, translate), clear: (input?.clearKeys ?? []).map((path) => `/body${path}`) },
    bodyIds: resolveBodyIds(translate, at, maps, issues),
  }
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
  if (isManagedHeader(name)) {
    issues.push({ path: formatPath(at), message: `${JSON.stringify(name)} is managed by the gateway and cannot be added or removed` })
    return false
  }
  return true
}

function resolveRoute(
  route: RouteInput,
  at: (string | number)[],
  maps: ReadonlyMap<string, IdentityMapConfig>,
  issues: ConfigIssue[],
): RouteConfig | undefined {
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
  return { method: route.method, path, rewrite, ids: resolveRouteIds(route.ids, path, at, maps, issues) }
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
