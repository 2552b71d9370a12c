import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { bucketOf } from '../authority/sticky-bucket.ts'
import type { Comparison } from '../compare/comparison.ts'
import { NoiseEvidence, type NoisePath } from '../compare/noise-evidence.ts'
import { PublishedPaths } from '../compare/published-paths.ts'
import type { Side } from '../config/schema.ts'
import type { GatewayConfig, SliceConfig } from '../config/types.ts'
import type { PairCapture } from '../capture/capture-queue.ts'
import type { IdentityMaps } from '../identity/identity-maps.ts'
import type { EventSink } from '../publish/event-sink.ts'
import type { ShadowSkipCause, ShadowSkips } from '../publish/shadow-skips.ts'
import type { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { droppedRequestHeaders } from '../upstream/forward-headers.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import { capturedPairOf } from './capture-pair.ts'
import { comparisonRecord, sideRecord, uncalledSide, type SideResult } from './comparison-record.ts'
import { judgeRun } from './judge-run.ts'
import { ProcessingClock } from './processing-clock.ts'
import { callSide, SAFE_METHODS, shadowUpstream, type ShadowCallDeps } from './shadow-call.ts'
import { ShadowLimiter } from './shadow-limiter.ts'
import { openRun, type RunOutcome, type ShadowRequest, type ShadowResult, type ShadowRun } from './shadow-run.ts'
import { SkipCounter } from './skip-counter.ts'

export { SHADOW_MARKER_HEADER, SHADOW_MARKER_VALUE } from './shadow-call.ts'
export type { PrimaryResult, ShadowRequest, ShadowRun } from './shadow-run.ts'

export interface ShadowMetrics {
  recordComparison(slice: string, outcome: string, category: string): void
  recordShadowLatency(slice: string, side: Side, seconds: number): void
}

export interface ShadowDeps {
  readonly config: GatewayConfig
  readonly pools: UpstreamPools
  readonly breakers: CircuitBreakers
  readonly sink: EventSink<Comparison>
  /** Where the skip aggregates go: the comparisons' destination (open-sinks.ts, `shadowSkips`). */
  readonly skips: EventSink<ShadowSkips>
  readonly logger: Logger
  readonly instance: string
  /** Salt of every published hash: values, data keys in diff paths, bodies. */
  readonly salt: string
  readonly metrics?: ShadowMetrics
  /** Identity maps of routes and translation rules that declare ids. */
  readonly identity?: IdentityMaps
  /** Where pairs of slices with `capture` go (encrypted, bounded, expiring); none: nothing is captured. */
  readonly captures?: PairCapture
}

function sampled(namespace: string, requestId: string, basisPoints: number): boolean {
  return basisPoints >= 10_000 || (basisPoints > 0 && bucketOf(namespace, requestId) < basisPoints)
}

function otherSide(side: Side): Side {
  return side === 'legacy' ? 'modern' : 'legacy'
}

/**
 * The parallel run: decides which requests are shadowed, calls the other side within the shadow
 * limits and breakers (shadow-call.ts), and — once both answers are in, off the request path —
 * judges the pair (judge-run.ts: re-asks for timing lag, double-asks for noise), builds the
 * Comparison (comparison-record.ts) and writes it to the sink.
 */
export class ShadowRunner {
  readonly #deps: ShadowDeps
  readonly #calls: ShadowCallDeps
  readonly #limiter: ShadowLimiter
  /** Noise evidence per slice (critical paths and thresholds are the slice's). */
  readonly #noise = new Map<string, NoiseEvidence>()
  /** Published diff paths per slice (data keys hashed with the deployment's salt). */
  readonly #paths = new Map<string, PublishedPaths>()
  readonly #log: Logger
  readonly #pending = new Set<Promise<void>>()
  readonly #skips = new SkipCounter()
  readonly #skipsTimer: NodeJS.Timeout

  constructor(deps: ShadowDeps) {
    this.#deps = deps
    this.#limiter = new ShadowLimiter(deps.config.shadowLimits.concurrency, deps.config.shadowLimits.queue)
    this.#skipsTimer = setInterval(() => this.flushSkips(), deps.config.shadowLimits.skipsIntervalMs)
    this.#skipsTimer.unref()
    this.#calls = {
      pools: deps.pools,
      breakers: deps.breakers,
      identity: deps.identity,
      dropped: droppedRequestHeaders(deps.config.ownedHeaders),
      ...(deps.metrics ? { recordLatency: (slice: string, side: Side, seconds: number) => deps.metrics?.recordShadowLatency(slice, side, seconds) } : {}),
    }
    this.#log = deps.logger.child({ component: 'shadow' })
  }

  get depth(): { active: number; waiting: number } {
    return this.#limiter.depth
  }

  /**
   * The shadow run of a request, or undefined when there is none: a slice without a shadow
   * section, or a write on a slice that declares no write safety for either side, is not shadowed
   * at all. A skip is decided here, before anything of the request is captured, and costs a
   * counter (published as ShadowSkips every `gateway.shadow.skipsIntervalMs`): a request outside
   * the sample (`sampled-out`), a write to a side without its own safety (`unsafe-write`), the
   * slice's shadow breaker open (`breaker-open`), no place in the shadow queue (`queue-full`).
   */
  begin(request: ShadowRequest): ShadowRun | undefined {
    const shadow = request.slice.shadow
    if (!shadow) return undefined
    const safe = SAFE_METHODS.has(request.method)
    if (!safe && shadow.writes.legacy === null && shadow.writes.modern === null) return undefined
    const cause = this.#skipCause(request, shadow, safe)
    const ticket = cause === undefined ? this.#limiter.tryEnter() : undefined
    if (!ticket) {
      this.#skips.count(request.slice, cause ?? 'queue-full')
      return undefined
    }
    const { run, outcome } = openRun(request, shadow, ticket, (body) => callSide(this.#calls, request, body, otherSide(request.primarySide)))
    const finished = (async () => {
      const release = await ticket.ready
      try {
        await this.#judgeAndPublish(request, await outcome)
      } catch (err) {
        this.#log.error({ err, slice: request.slice.id, reqId: request.requestId }, 'comparison failed')
      } finally {
        release?.()
      }
    })()
    this.#pending.add(finished)
    void finished.finally(() => this.#pending.delete(finished))
    return run
  }

  /**
   * Waits for comparisons in progress (graceful shutdown), at most `timeoutMs`; then publishes the
   * skips counted since the last window and stops counting windows.
   */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#pending]), sleep(timeoutMs, undefined, { ref: false })])
    clearInterval(this.#skipsTimer)
    this.flushSkips()
  }

  /** Closes the skip window now: one ShadowSkips event per slice that had skips in it, written to the skips sink. */
  flushSkips(now: Date = new Date()): void {
    for (const event of this.#skips.flush({ instance: this.#deps.instance, configVersion: this.#deps.config.version }, now)) this.#deps.skips.write(event)
  }

  /** Every skip since start by slice and reason, whether counted or recorded with its comparison (the metric). */
  skipTotals(): { slice: string; reason: string; count: number }[] {
    return this.#skips.totals()
  }

  /** Why a request of a shadowed slice is skipped before its run opens; undefined when it is not. */
  #skipCause(request: ShadowRequest, shadow: NonNullable<SliceConfig['shadow']>, safe: boolean): ShadowSkipCause | undefined {
    const { slice } = request
    if (!sampled(`shadow:${slice.id}`, request.requestId, shadow.sampleBasisPoints)) return 'sampled-out'
    const side = otherSide(request.primarySide)
    if (!safe && shadow.writes[side] === null) return 'unsafe-write'
    // Asked without a call (open, or half-open with its trial under way): a breaker that opens while
    // this run waits for its call still gives its comparison.
    if (this.#deps.breakers.refuses(shadowUpstream(slice, side, safe), 'shadow', slice.id)) return 'breaker-open'
    return undefined
  }

  /** The learned noise of a slice, with its evidence (the admin API lists it). */
  noise(sliceId: string, now = Date.now()): NoisePath[] {
    return this.#noise.get(sliceId)?.list(now) ?? []
  }

  /** Applies an operator's decision about a noise path. */
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

  /** The parallel run of one request, once both calls ended: judged, recorded, counted, published. */
  async #judgeAndPublish(request: ShadowRequest, { primary, shadow: shadowAnswer, skipReason }: RunOutcome): Promise<void> {
    const { slice } = request
    const shadowSide = otherSide(request.primarySide)
    const clock = new ProcessingClock()
    const { verdict, shadowUsed } = await judgeRun(request, primary, shadowAnswer, skipReason, {
      call: (which) => callSide(this.#calls, request, null, which === 'primary' ? request.primarySide : shadowSide),
      noise: this.#noiseOf(slice),
      doubleAsk: slice.shadow !== null && sampled(`noise:${slice.id}`, request.requestId, slice.shadow.noiseBasisPoints),
      paths: this.#pathsOf(slice),
      clock,
      identity: this.#deps.identity,
    })
    const { salt } = this.#deps
    const shadowRecord = shadowUsed ? sideRecord(shadowSide, shadowUsed, salt) : uncalledSide(shadowSide, slice.sides[shadowSide].upstream, verdict.cause)
    const record: Comparison = clock.time(() =>
      comparisonRecord(request, sideRecord(request.primarySide, primary, salt), shadowRecord, verdict, this.#deps, clock.ms),
    )
    if (verdict.category === 'shadow-skipped' && verdict.cause !== null) this.#skips.countRun(slice.id, verdict.cause)
    this.#deps.metrics?.recordComparison(slice.id, record.outcome, record.category)
    this.#deps.sink.write(record)
    this.#capture(request, primary, shadowUsed, record)
  }

  /**
   * Hands the pair to the capture store when the slice captures, the request is in the capture
   * sample, and both sides answered (the shadow answer the verdict rests on). Never throws.
   */
  #capture(request: ShadowRequest, primary: SideResult, shadowUsed: ShadowResult | undefined, record: Comparison): void {
    const { captures } = this.#deps
    const capture = request.slice.capture
    if (!captures || !capture || !primary.ok || !shadowUsed?.ok) return
    if (!sampled(`capture:${request.slice.id}`, request.requestId, capture.sampleBasisPoints)) return
    try {
      captures.write(capturedPairOf(request, primary, shadowUsed, record, new Date()))
    } catch (err) {
      this.#log.warn({ slice: request.slice.id, error: (err as Error).name }, 'pair not captured')
    }
  }
}
