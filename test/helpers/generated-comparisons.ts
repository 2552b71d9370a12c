import { randomUUID } from 'node:crypto'
import { FAMILY_OF, OUTCOME_OF, type Category } from '../../src/compare/classify.ts'
import type { Comparison } from '../../src/compare/comparison.ts'

export interface GeneratedOptions {
  readonly slice?: string
  readonly category?: Category
  readonly cause?: string | null
  readonly route?: string
  readonly eventTime?: Date
  readonly legacyMs?: number
  readonly modernMs?: number
  readonly diffPaths?: readonly string[]
  readonly untranslated?: readonly { path: string; value: string }[]
  readonly requestId?: string
  readonly eventId?: string
  /** Rules hash; the tests' slices use TEST_RULES_HASH unless a test says otherwise. */
  readonly rulesHash?: string
  readonly lagMs?: number
  readonly violations?: readonly { path: string; rule: 'required' | 'values' | 'format' | 'range' | 'schema' }[]
  readonly noisePaths?: readonly string[]
  readonly origin?: Comparison['origin']
  readonly causationId?: string | null
}

/** The rules hash generated comparisons carry by default. */
export const TEST_RULES_HASH = 'sha256:0123456789abcdef'

/** A schema-valid Comparison with the given traits (legacy authoritative, modern shadowed). */
export function comparison(options: GeneratedOptions = {}): Comparison {
  const category = options.category ?? 'match'
  const failed = category === 'shadow-error' || category === 'shadow-skipped'
  const time = (options.eventTime ?? new Date()).toISOString()
  return {
    schemaVersion: 1,
    eventType: 'ficus.comparison',
    eventId: options.eventId ?? randomUUID(),
    eventTime: time,
    requestTime: time,
    processingMs: 0.2,
    slice: options.slice ?? 'coverage-status',
    owner: null,
    route: options.route ?? 'GET /policies/:id',
    method: 'GET',
    entityKey: null,
    requestId: options.requestId ?? randomUUID(),
    traceparent: null,
    authority: 'legacy',
    flagVersion: 0,
    authorityChangeId: null,
    origin: options.origin ?? 'live',
    causationId: options.causationId ?? null,
    configVersion: 'test',
    translationVersion: null,
    instance: 'gen',
    primary: {
      side: 'legacy',
      upstream: 'legacy',
      status: category === 'primary-error' ? 500 : 200,
      latencyMs: options.legacyMs ?? 10,
      bodyHash: null,
      bodyBytes: 10,
      contentType: 'application/json',
      error: null,
    },
    shadow: failed
      ? {
          side: 'modern',
          upstream: 'modern',
          status: null,
          latencyMs: null,
          bodyHash: null,
          bodyBytes: null,
          contentType: null,
          error: options.cause ?? 'timeout',
        }
      : {
          side: 'modern',
          upstream: 'modern',
          status: category === 'status-mismatch' ? 404 : 200,
          latencyMs: options.modernMs ?? 10,
          bodyHash: null,
          bodyBytes: 10,
          contentType: 'application/json',
          error: null,
        },
    rulesHash: options.rulesHash ?? TEST_RULES_HASH,
    outcome: OUTCOME_OF[category],
    family: FAMILY_OF[category],
    category,
    cause: options.cause ?? (failed || category === 'primary-error' ? 'timeout' : category === 'not-compared' ? 'over-capture-cap' : null),
    reasked: category === 'timing-lag',
    reasks: category === 'timing-lag' ? 1 : 0,
    lagMs: category === 'timing-lag' ? (options.lagMs ?? 150) : null,
    diff: (options.diffPaths ?? []).map((path) => ({ path, kind: 'changed' as const, legacyHash: 'hmac-sha256:0', modernHash: 'hmac-sha256:1' })),
    diffTruncated: false,
    noisePaths: [...(options.noisePaths ?? [])],
    noiseDiff: [],
    violations: (options.violations ?? []).map((violation) => ({ ...violation, detail: 'broken' })),
    untranslated: (options.untranslated ?? []).map((item) => ({ path: item.path, rule: 'values', value: item.value })),
  }
}
