import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { bucketOf } from '../authority/sticky-bucket.ts'
import { classifyComparison, NoiseLearner, OUTCOME_OF, type Category } from '../compare/classify.ts'
import { compareResponses, type CompareRules, type ResponseSnapshot } from '../compare/compare-responses.ts'
import {
  COMPARISON_EVENT_TYPE,
  COMPARISON_SCHEMA_VERSION,
  publishableDiff,
  type Comparison,
  type SideRecord,
  type SkipReason,
} from '../compare/comparison.ts'
import { viewBody, type CapturedBody } from '../compare/decode-body.ts'
import type { DiffEntry } from '../compare/json-diff.ts'
import type { Untranslated } from '../compare/translate.ts'
import { renderPathTemplate } from '../config/path-template.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, RouteConfig, SliceConfig } from '../config/types.ts'
import type { EventSink } from '../publish/event-sink.ts'
import { CountedFailure, type CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import { failureCause, type FailureCause } from '../upstream/upstream-error.ts'
import type { Headers } from '../upstream/hop-by-hop.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import { BodyTap, sha256 } from './body-capture.ts'
import { ShadowLimiter } from './shadow-limiter.ts'

/** Every shadow request carries this header, so the other side can tell it from client traffic. */
export const SHADOW_MARKER_HEADER = 'x-ficus-traffic'
export const SHADOW_MARKER_VALUE = 'shadow'
const SAFE_METHODS = new Set(['GET', 'HEAD'])
/** Decoded bodies may be this many times their capture cap (compressed JSON), no more. */
const DECODE_FACTOR = 8

export interface ShadowMetrics {
  recordComparison(slice: string, outcome: string, category: string): void
  recordShadowLatency(slice: string, side: Side, seconds: number): void
  recordSkip(slice: string, reason: SkipReason): void
}

export interface ShadowDeps {
  readonly config: GatewayConfig
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  readonly sink: EventSink<Comparison>
  readonly logger: Logger
  readonly instance: string
  /** Salt of the value hashes in published diffs. */
  readonly salt: string
  readonly metrics?: ShadowMetrics
}

/** What the gateway knows about a request when it decides to shadow it. */
export interface ShadowRequest {
  readonly slice: SliceConfig
  readonly route: RouteConfig
  readonly params: Readonly<Record<string, string>>
  readonly method: string
  readonly query: string
  readonly headers: Headers
  readonly requestId: string
  readonly traceparent: string | null
  readonly entityKey: string | null
  readonly requestTime: Date
  readonly primarySide: Side
  readonly authority: string
  readonly flagVersion: number
  readonly peerAddress: string | undefined
  readonly protocol: string
  readonly host: string | undefined
}

/** How the authoritative side's call ended. */
export type PrimaryResult =
  | { readonly ok: true; readonly status: number; readonly headers: Headers; readonly body: CapturedBody; readonly latencyMs: number; readonly upstream: string }
  | { readonly ok: false; readonly cause: string; readonly status: number | null; readonly latencyMs: number | null; readonly upstream: string }

type ShadowResult =
  | { readonly ok: true; readonly status: number; readonly headers: Headers; readonly body: CapturedBody; readonly latencyMs: number; readonly upstream: string }
  | { readonly ok: false; readonly cause: FailureCause; readonly status: number | null; readonly latencyMs: number | null; readonly upstream: string }

/** One shadowed request, from the gateway's side. */
export interface ShadowRun {
  /** Largest request body that may be replayed to the shadow side. */
  readonly maxRequestBodyBytes: number
  /** Largest primary response body captured for the comparison (the rest is hashed). */
  readonly maxResponseBodyBytes: number
  /** Starts the shadow call with the captured request body. */
  start(body: Buffer | null): void
  /** The shadow cannot be run (its request body is over the cap); the comparison says so. */
  skip(reason: SkipReason): void
  /** Reports how the authoritative call ended; the comparison follows off the request path. */
  primaryDone(result: PrimaryResult): void
}

function sampled(namespace: string, requestId: string, basisPoints: number): boolean {
  return basisPoints >= 10_000 || (basisPoints > 0 && bucketOf(namespace, requestId) < basisPoints)
}

/**
 * The parallel run: decides which requests are shadowed, calls the other side within the shadow
 * limits and breakers, and — once both answers are in, off the request path — translates,
 * compares, classifies (re-asking for timing lag, learning noise) and writes the Comparison.
 */
export class ShadowRunner {
  readonly #deps: ShadowDeps
  readonly #limiter: ShadowLimiter
  readonly #noise = new NoiseLearner()
  readonly #log: Logger
  readonly #pending = new Set<Promise<void>>()

  constructor(deps: ShadowDeps) {
    this.#deps = deps
    this.#limiter = new ShadowLimiter(deps.config.shadowLimits.concurrency, deps.config.shadowLimits.queue)
    this.#log = deps.logger.child({ component: 'shadow' })
  }

  get depth(): { active: number; waiting: number } {
    return this.#limiter.depth
  }

  /** The shadow run of a request, or undefined when the request is not shadowed at all. */
  begin(request: ShadowRequest): ShadowRun | undefined {
    const shadow = request.slice.shadow
    if (!shadow) return undefined
    const safe = SAFE_METHODS.has(request.method)
    if (!safe && !shadow.writes) return undefined
    if (!sampled(`shadow:${request.slice.id}`, request.requestId, shadow.sampleBasisPoints)) return undefined

    const slot = this.#limiter.tryEnter()
    let skipReason: SkipReason | undefined = slot ? undefined : 'queue-full'
    let release: (() => void) | undefined
    let resolveShadow!: (result: ShadowResult | undefined) => void
    const shadowResult = new Promise<ShadowResult | undefined>((resolve) => (resolveShadow = resolve))
    let resolvePrimary!: (result: PrimaryResult) => void
    const primaryResult = new Promise<PrimaryResult>((resolve) => (resolvePrimary = resolve))

    const finished = (async () => {
      try {
        if (slot) release = await slot
        const primary = await primaryResult
        const shadowAnswer = await shadowResult
        await this.#finish(request, primary, shadowAnswer, skipReason)
      } catch (err) {
        this.#log.error({ err, slice: request.slice.id, reqId: request.requestId }, 'comparison failed')
      } finally {
        release?.()
      }
    })()
    this.#pending.add(finished)
    void finished.finally(() => this.#pending.delete(finished))

    return {
      maxRequestBodyBytes: shadow.maxRequestBodyBytes,
      maxResponseBodyBytes: shadow.maxResponseBodyBytes,
      start: (body) => {
        if (!slot || skipReason) {
          resolveShadow(undefined)
          return
        }
        // The call waits for its place (possibly after the primary answered), never the client.
        void slot.then(() => this.#callShadow(request, body)).then(resolveShadow, () => resolveShadow(undefined))
      },
      skip: (reason) => {
        skipReason = reason
        resolveShadow(undefined)
      },
      primaryDone: (result) => resolvePrimary(result),
    }
  }

  /** Waits for comparisons in progress (graceful shutdown), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#pending]), sleep(timeoutMs, undefined, { ref: false })])
  }

  #shadowSide(request: ShadowRequest): Side {
    return request.primarySide === 'legacy' ? 'modern' : 'legacy'
  }

  async #callShadow(request: ShadowRequest, body: Buffer | null, side = this.#shadowSide(request)): Promise<ShadowResult> {
    const { slice } = request
    const shadow = slice.shadow
    if (!shadow) throw new Error('shadow call on a slice without shadow config')
    const write = !SAFE_METHODS.has(request.method)
    const target = slice.sides[side]
    const upstream = write && shadow.writes?.kind === 'sandbox' ? shadow.writes.upstream : target.upstream
    const client = this.#deps.pools.get(upstream)
    const headers = upstreamRequestHeaders(request.headers, target, {
      requestId: request.requestId,
      peerAddress: request.peerAddress,
      protocol: request.protocol,
      host: request.host,
    })
    headers[SHADOW_MARKER_HEADER] = SHADOW_MARKER_VALUE
    if (write && shadow.writes?.kind === 'dry-run-header') headers[shadow.writes.name] = shadow.writes.value
    if (body) headers['content-length'] = String(body.length)
    const path = client.config.basePath + renderPathTemplate(request.route.rewrite[side], request.params) + request.query
    const started = performance.now()
    // One deadline for the whole call, body included: a slow drip is cut like a hang. A timer we
    // clear, not AbortSignal.timeout(): that one fires (and builds an exception) even after success.
    const signal = new Deadline(shadow.timeoutMs)
    try {
      const answer = await this.#deps.breakers.call(upstream, 'shadow', async () => {
        const response = await client.pool.request({ method: request.method, path, headers, body, signal })
        // Latency to the response headers, as on the authoritative side, so the two compare.
        const latencyMs = round(performance.now() - started)
        const captured = await BodyTap.read(response.body, shadow.maxResponseBodyBytes)
        const result = { status: response.statusCode, headers: response.headers, body: captured, latencyMs }
        if (response.statusCode >= 500) throw new CountedFailure(result, `shadow answered ${response.statusCode}`)
        return result
      })
      this.#deps.metrics?.recordShadowLatency(slice.id, side, round(performance.now() - started) / 1000)
      return { ok: true, ...answer, upstream }
    } catch (err) {
      return { ok: false, cause: signal.expired ? 'timeout' : failureCause(err), status: null, latencyMs: round(performance.now() - started), upstream }
    } finally {
      signal.clear()
    }
  }

  async #finish(request: ShadowRequest, primary: PrimaryResult, shadowAnswer: ShadowResult | undefined, skipReason: SkipReason | undefined): Promise<void> {
    const { slice } = request
    const shadowSide = this.#shadowSide(request)
    let processingMs = 0
    const timed = async <T>(work: () => Promise<T> | T): Promise<T> => {
      const started = performance.now()
      try {
        return await work()
      } finally {
        processingMs += performance.now() - started
      }
    }

    let category: Category
    let cause: string | null = null
    let entries: readonly DiffEntry[] = []
    let truncated = false
    let noisePaths: readonly string[] = []
    let untranslated: readonly Untranslated[] = []
    let reasked = false
    let shadowRecordSource: ShadowResult | undefined = shadowAnswer

    if (skipReason) {
      category = 'shadow-skipped'
      cause = skipReason
      this.#deps.metrics?.recordSkip(slice.id, skipReason)
    } else if (!primary.ok || primary.status >= 500) {
      category = 'primary-error'
      cause = primary.ok ? '5xx' : primary.cause
    } else if (!shadowAnswer) {
      category = 'shadow-error'
      cause = 'error'
    } else if (!shadowAnswer.ok || shadowAnswer.status >= 500) {
      category = 'shadow-error'
      cause = shadowAnswer.ok ? '5xx' : shadowAnswer.cause
    } else {
      const maxDecoded = slice.shadow ? slice.shadow.maxResponseBodyBytes * DECODE_FACTOR : 0
      const hash = sha256
      const primarySnapshot = await timed(() => snapshot(primary, maxDecoded, hash))
      const shadowSnapshot = await timed(() => snapshot(shadowAnswer, maxDecoded, hash))
      if (primarySnapshot.body.kind === 'invalid-json') {
        category = 'primary-error'
        cause = 'invalid-json'
      } else if (shadowSnapshot.body.kind === 'invalid-json') {
        category = 'shadow-error'
        cause = 'invalid-json'
      } else {
        const routeKey = `${request.route.method} ${request.route.path.source}`
        const safe = SAFE_METHODS.has(request.method)
        if (safe && slice.shadow && sampled(`noise:${slice.id}`, request.requestId, slice.shadow.noiseBasisPoints)) {
          await this.#learnNoise(request, primarySnapshot, routeKey, maxDecoded, hash, timed)
        }
        const compare = (shadowSnap: ResponseSnapshot): ReturnType<typeof classifyComparison> & { truncated: boolean; untranslated: readonly Untranslated[] } => {
          const [legacy, modern] = request.primarySide === 'legacy' ? [primarySnapshot, shadowSnap] : [shadowSnap, primarySnapshot]
          const comparison = compareResponses(legacy, modern, slice.compare.rules)
          return { ...classifyComparison(comparison, this.#noise.noisy(routeKey)), truncated: comparison.truncated, untranslated: comparison.untranslated }
        }
        let result = await timed(() => compare(shadowSnapshot))
        if (safe && slice.shadow?.reaskDelayMs != null && (result.category === 'status-mismatch' || result.category === 'body-mismatch')) {
          await sleep(slice.shadow.reaskDelayMs)
          reasked = true
          const again = await this.#callShadow(request, null, shadowSide)
          if (again.ok && again.status < 500) {
            const second = await timed(async () => compare(await snapshot(again, maxDecoded, hash)))
            if (OUTCOME_OF[second.category] === 'agree') {
              result = { ...result, category: 'timing-lag' }
              shadowRecordSource = again
            }
          }
        }
        category = result.category
        entries = result.entries
        truncated = result.truncated
        noisePaths = result.noisePaths
        untranslated = result.untranslated
      }
    }

    const published = await timed(() => publishableDiff(entries, untranslated, { ...slice.compare.values, salt: this.#deps.salt }))
    const record: Comparison = {
      schemaVersion: COMPARISON_SCHEMA_VERSION,
      eventType: COMPARISON_EVENT_TYPE,
      eventId: randomUUID(),
      eventTime: new Date().toISOString(),
      requestTime: request.requestTime.toISOString(),
      processingMs: round(processingMs),
      slice: slice.id,
      route: `${request.route.method} ${request.route.path.source}`,
      method: request.method,
      entityKey: request.entityKey,
      requestId: request.requestId,
      traceparent: request.traceparent,
      authority: request.authority,
      flagVersion: request.flagVersion,
      configVersion: this.#deps.config.version,
      translationVersion: slice.compare.translationVersion,
      instance: this.#deps.instance,
      primary: sideRecord(request.primarySide, primary),
      shadow: shadowRecordSource ? sideRecord(shadowSide, shadowRecordSource) : emptySide(shadowSide, slice.sides[shadowSide].upstream, skipReason ?? null),
      outcome: OUTCOME_OF[category],
      category,
      cause,
      reasked,
      diff: published.diff,
      diffTruncated: truncated,
      noisePaths,
      untranslated: published.untranslated,
    }
    this.#deps.metrics?.recordComparison(slice.id, record.outcome, record.category)
    this.#deps.sink.write(record)
  }

  async #learnNoise(
    request: ShadowRequest,
    first: ResponseSnapshot,
    routeKey: string,
    maxDecoded: number,
    hash: (bytes: Buffer) => string,
    timed: <T>(work: () => Promise<T> | T) => Promise<T>,
  ): Promise<void> {
    const again = await this.#callShadow(request, null, request.primarySide)
    if (!again.ok || again.status >= 500) return
    const second = await timed(() => snapshot(again, maxDecoded, hash))
    const own = request.slice.compare.rules.translate[request.primarySide]
    // Both answers come from one side: translate both alike so the paths are the common language's.
    const rules: CompareRules = { ...request.slice.compare.rules, translate: own ? { legacy: own, modern: own } : {} }
    const comparison = await timed(() => compareResponses(first, second, rules))
    this.#noise.learn(routeKey, comparison.entries)
  }
}

async function snapshot(answer: { status: number; headers: Headers; body: CapturedBody }, maxDecoded: number, hash: (bytes: Buffer) => string): Promise<ResponseSnapshot> {
  return { status: answer.status, headers: answer.headers, body: await viewBody(answer.body, answer.headers, maxDecoded, hash) }
}

/** A per-call deadline undici accepts as its signal (an emitter): cleared when the call is done. */
class Deadline extends EventEmitter {
  expired = false
  readonly #timer: NodeJS.Timeout

  constructor(ms: number) {
    super()
    this.#timer = setTimeout(() => {
      this.expired = true
      this.emit('abort')
    }, ms)
  }

  clear(): void {
    clearTimeout(this.#timer)
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

function contentType(headers: Headers): string | null {
  const value = headers['content-type']
  return (Array.isArray(value) ? value[0] : value) ?? null
}

function sideRecord(side: Side, result: PrimaryResult | ShadowResult): SideRecord {
  if (!result.ok) return { side, upstream: result.upstream, status: result.status, latencyMs: result.latencyMs, bodyHash: null, bodyBytes: null, contentType: null, error: result.cause }
  return {
    side,
    upstream: result.upstream,
    status: result.status,
    latencyMs: result.latencyMs,
    bodyHash: result.body.sha256,
    bodyBytes: result.body.length,
    contentType: contentType(result.headers),
    error: null,
  }
}

function emptySide(side: Side, upstream: string, error: string | null): SideRecord {
  return { side, upstream, status: null, latencyMs: null, bodyHash: null, bodyBytes: null, contentType: null, error }
}
