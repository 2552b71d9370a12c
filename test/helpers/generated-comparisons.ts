import { randomUUID } from 'node:crypto'
import { OUTCOME_OF, type Category } from '../../src/compare/classify.ts'
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
}

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
    route: options.route ?? 'GET /policies/:id',
    method: 'GET',
    entityKey: null,
    requestId: options.requestId ?? randomUUID(),
    traceparent: null,
    authority: 'legacy',
    flagVersion: 0,
    configVersion: 'test',
    translationVersion: null,
    instance: 'gen',
    primary: { side: 'legacy', upstream: 'legacy', status: category === 'primary-error' ? 500 : 200, latencyMs: options.legacyMs ?? 10, bodyHash: null, bodyBytes: 10, contentType: 'application/json', error: null },
    shadow: failed
      ? { side: 'modern', upstream: 'modern', status: null, latencyMs: null, bodyHash: null, bodyBytes: null, contentType: null, error: options.cause ?? 'timeout' }
      : { side: 'modern', upstream: 'modern', status: category === 'status-mismatch' ? 404 : 200, latencyMs: options.modernMs ?? 10, bodyHash: null, bodyBytes: 10, contentType: 'application/json', error: null },
    outcome: OUTCOME_OF[category],
    category,
    cause: options.cause ?? (OUTCOME_OF[category] === 'not-compared' ? 'timeout' : null),
    reasked: category === 'timing-lag',
    diff: (options.diffPaths ?? []).map((path) => ({ path, kind: 'changed' as const, legacyHash: 'hmac-sha256:0', modernHash: 'hmac-sha256:1' })),
    diffTruncated: false,
    noisePaths: [],
    untranslated: (options.untranslated ?? []).map((item) => ({ path: item.path, rule: 'values', value: item.value })),
  }
}
