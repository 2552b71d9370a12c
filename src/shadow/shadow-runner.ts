import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { bucketOf } from '../authority/sticky-bucket.ts'
import { OUTCOME_OF } from '../compare/classify.ts'
import { compareResponses, type CompareRules, type ResponseSnapshot } from '../compare/compare-responses.ts'
import type { Comparison, SkipReason } from '../compare/comparison.ts'
import { viewBody, type CapturedBody } from '../compare/decode-body.ts'
import { judgePair, type Judgement } from '../compare/judge-pair.ts'
import { NoiseEvidence, nodePaths, type NoisePath } from '../compare/noise-evidence.ts'
import { PublishedPaths } from '../compare/published-paths.ts'
import { renderPathTemplate } from '../config/path-template.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, RouteConfig, SliceConfig } from '../config/types.ts'
import type { EventSink } from '../publish/event-sink.ts'
import { CountedFailure, type CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { droppedRequestHeaders, upstreamRequestHeaders } from '../upstream/forward-headers.ts'
import { failureCause, type FailureCause } from '../upstream/upstream-error.ts'
import type { Headers } from '../http/hop-by-hop.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import { BodyTap, sha256 } from './body-capture.ts'
import { comparisonRecord, sideRecord, uncalledSide, verdictOf, type RunVerdict, type SideResult } from './comparison-record.ts'
import { reaskUntilConverged } from './reask.ts'
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
  /** Salt of every published hash: values, data keys in diff paths, bodies. */
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
export type PrimaryResult = SideResult

type ShadowResult =
  | { readonly ok: true; readonly status: number; readonly headers: Headers; readonly body: CapturedBody; readonly latencyMs: number; readonly upstream: string }
  | { readonly ok: false; readonly cause: FailureCause; readonly status: number | null; readonly latencyMs: number | null; readonly upstream: string }

/** One shadowed request, from the gateway's side. */
export interface ShadowRun {
  /** Largest request body that may be replayed to the shadow side. */
  readonly maxRequestBodyBytes: number
  /** Largest primary response body captured for the comparison (the rest is hashed). */
  readonly maxResponseBodyBytes: number
  /** True when the shadow side will not be called (queue full, unsafe write): its body is not needed. */
  readonly skipped: boolean
  /** Starts the shadow call with the captured request body. */
  start(body: Buffer | null): void
  /** The shadow cannot be run (its request body is over the cap); the comparison says so. */
  skip(reason: SkipReason): void
  /**
   * The request ended before the authoritative call was made or answered (the client left during
   * its body, a limit was exceeded): the run ends at once, its place in the shadow queue is freed.
   */
  abandon(reason: SkipReason): void
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
  /** Noise evidence per slice (critical paths and thresholds are the slice's). */
  readonly #noise = new Map<string, NoiseEvidence>()
  /** Published diff paths per slice (data keys hashed with the deployment's salt). */
  readonly #paths = new Map<string, PublishedPaths>()
  readonly #log: Logger
  readonly #pending = new Set<Promise<void>>()
  readonly #dropped: ReadonlySet<string>

  constructor(deps: ShadowDeps) {
    this.#deps = deps
    this.#limiter = new ShadowLimiter(deps.config.shadowLimits.concurrency, deps.config.shadowLimits.queue)
    this.#dropped = droppedRequestHeaders(deps.config.ownedHeaders)
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
    // Writes are part of the parallel run only where the slice declares how a side is kept from
    // committing; the side being shadowed must have its own safety, or the write is skipped.
    const writable = shadow.writes.legacy !== null || shadow.writes.modern !== null
    if (!safe && !writable) return undefined
    if (!sampled(`shadow:${request.slice.id}`, request.requestId, shadow.sampleBasisPoints)) return undefined
    const unsafe = !safe && shadow.writes[this.#shadowSide(request)] === null

    const ticket = unsafe ? undefined : this.#limiter.tryEnter()
    let skipReason: SkipReason | undefined = unsafe ? 'unsafe-write' : ticket ? undefined : 'queue-full'
    let release: (() => void) | undefined
    let resolveShadow!: (result: ShadowResult | undefined) => void
    const shadowResult = new Promise<ShadowResult | undefined>((resolve) => (resolveShadow = resolve))
    let resolvePrimary!: (result: PrimaryResult) => void
    const primaryResult = new Promise<PrimaryResult>((resolve) => (resolvePrimary = resolve))

    const finished = (async () => {
      try {
        if (ticket) release = await ticket.ready
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
      skipped: skipReason !== undefined,
      start: (body) => {
        if (!ticket || skipReason) {
          resolveShadow(undefined)
          return
        }
        // The call waits for its place (possibly after the primary answered), never the client.
        void ticket.ready
          .then((place) => (place && !skipReason ? this.#callShadow(request, body) : undefined))
          .then(resolveShadow, () => resolveShadow(undefined))
      },
      skip: (reason) => {
        skipReason = reason
        resolveShadow(undefined)
      },
      abandon: (reason) => {
        skipReason = reason
        ticket?.cancel()
        resolveShadow(undefined)
        resolvePrimary({ ok: false, cause: reason, status: null, latencyMs: null, upstream: request.slice.sides[request.primarySide].upstream })
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

  /** The learned noise of a slice, with its evidence (the admin API lists it). */
  noise(sliceId: string, now = Date.now()): NoisePath[] {
    return this.#noise.get(sliceId)?.list(now) ?? []
  }

  /** Applies an operator's decision about a noise path (from the authority store). */
  decideNoise(sliceId: string, route: string, path: string, decision: NonNullable<NoisePath['decision']> | null): void {
    this.#noiseOf(this.#deps.config.slices.find((slice) => slice.id === sliceId))?.decide(route, path, decision)
  }

  #noiseOf(slice: SliceConfig | undefined): NoiseEvidence | undefined {
    if (!slice?.shadow) return undefined
    let evidence = this.#noise.get(slice.id)
    if (!evidence) this.#noise.set(slice.id, (evidence = new NoiseEvidence(slice.shadow.noise, slice.compare.critical)))
    return evidence
  }

  #pathsOf(slice: SliceConfig): PublishedPaths {
    let paths = this.#paths.get(slice.id)
    if (!paths) this.#paths.set(slice.id, (paths = new PublishedPaths(slice.compare.keys, this.#deps.salt)))
    return paths
  }

  async #callShadow(request: ShadowRequest, body: Buffer | null, side = this.#shadowSide(request)): Promise<ShadowResult> {
    const { slice } = request
    const shadow = slice.shadow
    if (!shadow) throw new Error('shadow call on a slice without shadow config')
    const write = !SAFE_METHODS.has(request.method)
    const target = slice.sides[side]
    const safety = write ? shadow.writes[side] : null
    if (write && safety === null) throw new Error(`a write shadowed to ${side} without its write safety`)
    const upstream = safety?.kind === 'sandbox' ? safety.upstream : target.upstream
    const client = this.#deps.pools.get(upstream)
    const headers = upstreamRequestHeaders(request.headers, target, {
      requestId: request.requestId,
      peerAddress: request.peerAddress,
      protocol: request.protocol,
      host: request.host,
      dropped: this.#dropped,
    })
    headers[SHADOW_MARKER_HEADER] = SHADOW_MARKER_VALUE
    if (safety?.kind === 'dry-run-header') headers[safety.name] = safety.value
    if (body) headers['content-length'] = String(body.length)
    const path = client.config.basePath + renderPathTemplate(request.route.rewrite[side], request.params) + request.query
    const started = performance.now()
    // One deadline for the whole call, body included: a slow drip is cut like a hang. A timer we
    // clear, not AbortSignal.timeout(): that one fires (and builds an exception) even after success.
    const signal = new Deadline(shadow.timeoutMs)
    const countServerErrors = this.#deps.breakers.countsServerErrors(upstream, 'shadow')
    try {
      const answer = await this.#deps.breakers.call(
        upstream,
        'shadow',
        async () => {
          const response = await client.pool.request({ method: request.method, path, headers, body, signal })
          // Latency to the response headers, as on the authoritative side, so the two compare.
          const latencyMs = round(performance.now() - started)
          const captured = await BodyTap.read(response.body, shadow.maxResponseBodyBytes)
          const result = { status: response.statusCode, headers: response.headers, body: captured, latencyMs }
          if (response.statusCode >= 500 && countServerErrors) throw new CountedFailure(result, `shadow answered ${response.statusCode}`)
          return result
        },
        slice.id,
      )
      this.#deps.metrics?.recordShadowLatency(slice.id, side, round(performance.now() - started) / 1000)
      return { ok: true, ...answer, upstream }
    } catch (err) {
      return { ok: false, cause: signal.expired ? 'timeout' : failureCause(err), status: null, latencyMs: round(performance.now() - started), upstream }
    } finally {
      signal.clear()
    }
  }

  /** The parallel run of one request, once both calls ended: judged, recorded, published. */
  async #finish(request: ShadowRequest, primary: PrimaryResult, shadowAnswer: ShadowResult | undefined, skipReason: SkipReason | undefined): Promise<void> {
    const { slice } = request
    const shadowSide = this.#shadowSide(request)
    const clock = new ProcessingClock()
    const { verdict, shadowUsed } = await this.#judgeRun(request, primary, shadowAnswer, skipReason, clock)
    const { salt } = this.#deps
    const shadowRecord = shadowUsed ? sideRecord(shadowSide, shadowUsed, salt) : uncalledSide(shadowSide, slice.sides[shadowSide].upstream, verdict.cause)
    const record: Comparison = clock.time(() => comparisonRecord(request, sideRecord(request.primarySide, primary, salt), shadowRecord, verdict, this.#deps, clock.ms))
    if (verdict.category === 'shadow-skipped' && verdict.cause !== null) this.#deps.metrics?.recordSkip(slice.id, verdict.cause as SkipReason)
    this.#deps.metrics?.recordComparison(slice.id, record.outcome, record.category)
    this.#deps.sink.write(record)
  }

  /** What the run concluded, and the shadow answer the record keeps (the converged one after a lag). */
  async #judgeRun(
    request: ShadowRequest,
    primary: PrimaryResult,
    shadowAnswer: ShadowResult | undefined,
    skipReason: SkipReason | undefined,
    clock: ProcessingClock,
  ): Promise<{ verdict: RunVerdict; shadowUsed: ShadowResult | undefined }> {
    if (skipReason) return { verdict: verdictOf('shadow-skipped', skipReason), shadowUsed: undefined }
    if (!primary.ok || primary.status >= 500) return { verdict: verdictOf('primary-error', primary.ok ? '5xx' : primary.cause), shadowUsed: shadowAnswer }
    if (!shadowAnswer) return { verdict: verdictOf('shadow-error', 'error'), shadowUsed: undefined }
    // An open breaker made no call: a skip, not a failure of the side.
    if (!shadowAnswer.ok && shadowAnswer.cause === 'breaker-open') return { verdict: verdictOf('shadow-skipped', 'breaker-open'), shadowUsed: undefined }
    if (!shadowAnswer.ok || shadowAnswer.status >= 500) return { verdict: verdictOf('shadow-error', shadowAnswer.ok ? '5xx' : shadowAnswer.cause), shadowUsed: shadowAnswer }

    const { slice } = request
    const maxDecoded = (slice.shadow?.maxResponseBodyBytes ?? 0) * DECODE_FACTOR
    const primarySnapshot = await clock.timeAsync(() => snapshot(primary, maxDecoded))
    const shadowSnapshot = await clock.timeAsync(() => snapshot(shadowAnswer, maxDecoded))
    if (primarySnapshot.body.kind === 'invalid-json') return { verdict: verdictOf('primary-error', 'invalid-json'), shadowUsed: shadowAnswer }
    if (shadowSnapshot.body.kind === 'invalid-json') return { verdict: verdictOf('shadow-error', 'invalid-json'), shadowUsed: shadowAnswer }

    const routeKey = `${request.route.method} ${request.route.path.source}`
    const safe = SAFE_METHODS.has(request.method)
    const noise = this.#noiseOf(slice)
    if (safe && noise && slice.shadow && sampled(`noise:${slice.id}`, request.requestId, slice.shadow.noiseBasisPoints)) {
      await this.#askTwice(request, primarySnapshot, routeKey, noise, maxDecoded, clock)
    }
    const judge = (shadowSnap: ResponseSnapshot): Judgement => {
      const [legacy, modern] = request.primarySide === 'legacy' ? [primarySnapshot, shadowSnap] : [shadowSnap, primarySnapshot]
      return clock.time(() => judgePair(legacy, modern, slice.compare.rules, noise?.noisy(routeKey, Date.now()) ?? new Set(), this.#pathsOf(slice)))
    }
    const first = judge(shadowSnapshot)
    const base = { cause: first.cause, entries: first.entries, noiseEntries: first.noiseEntries, truncated: first.truncated, untranslated: first.untranslated, violations: first.violations }
    const reask = slice.shadow?.reask
    if (!safe || !reask || first.family !== 'genuine-conflict') return { verdict: { ...base, category: first.category, reasks: 0, lagMs: null }, shadowUsed: shadowAnswer }

    // Timing lag: ask the other side again on the backoff schedule; the time to converge is the lag.
    const reasked = await reaskUntilConverged(
      reask,
      async () => {
        const again = await this.#callShadow(request, null, this.#shadowSide(request))
        if (!again.ok || again.status >= 500) return undefined
        const snap = await clock.timeAsync(() => snapshot(again, maxDecoded))
        return { again, judgement: judge(snap) }
      },
      ({ judgement }) => OUTCOME_OF[judgement.category] === 'agree',
    )
    if (reasked.converged) {
      return {
        verdict: { ...base, category: 'timing-lag', cause: null, entries: first.entries, noiseEntries: reasked.converged.judgement.noiseEntries, reasks: reasked.reasks, lagMs: reasked.lagMs },
        shadowUsed: reasked.converged.again,
      }
    }
    return { verdict: { ...base, category: first.category, cause: 'not-converged', reasks: reasked.reasks, lagMs: null }, shadowUsed: shadowAnswer }
  }

  /** A double-ask: the authoritative side again, its two answers compared — the evidence of noise. */
  async #askTwice(request: ShadowRequest, first: ResponseSnapshot, routeKey: string, noise: NoiseEvidence, maxDecoded: number, clock: ProcessingClock): Promise<void> {
    const again = await this.#callShadow(request, null, request.primarySide)
    if (!again.ok || again.status >= 500) return
    const second = await clock.timeAsync(() => snapshot(again, maxDecoded))
    const own = request.slice.compare.rules.translate[request.primarySide]
    // Both answers come from one side: translate both alike so the paths are the common language's.
    const rules: CompareRules = { ...request.slice.compare.rules, translate: own ? { legacy: own, modern: own } : {} }
    // Paths in their published form, as the judgement sees them: the evidence is about those.
    const paths = this.#pathsOf(request.slice)
    const comparison = clock.time(() => compareResponses(first, second, rules, paths))
    if (comparison.notCompared !== null) return
    const key = (segments: readonly string[], at: number): string => paths.key(segments, at)
    const covered = nodePaths(rules.headers, comparison.translated?.legacy, undefined, key)
    for (const path of nodePaths([], comparison.translated?.modern, undefined, key)) covered.add(path)
    noise.record(routeKey, covered, comparison.entries.map((entry) => entry.path), Date.now())
  }
}

/** Gateway time spent on a comparison (decoding, translating, judging), not waiting for upstreams. */
class ProcessingClock {
  ms = 0

  time<T>(work: () => T): T {
    const started = performance.now()
    try {
      return work()
    } finally {
      this.ms += performance.now() - started
    }
  }

  async timeAsync<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.ms += performance.now() - started
    }
  }
}

async function snapshot(answer: { status: number; headers: Headers; body: CapturedBody }, maxDecoded: number): Promise<ResponseSnapshot> {
  return { status: answer.status, headers: answer.headers, body: await viewBody(answer.body, answer.headers, maxDecoded, sha256) }
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
