import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { backoffDelay } from '../../retry/backoff.ts'
import type { OffsetsReading } from './consumer-lag.ts'
import { judgeConsumer, type HealthBounds, type PartitionLag } from './reporter-health.ts'
import type { ConsumerState } from './reporter.ts'

/** What the supervisor needs of a reporter (`ReporterService`). */
export interface SupervisedReporter {
  readonly counted: number
  readonly consumerState: ConsumerState
  start(): Promise<void>
  stop(): Promise<void>
}

/** Counts a reporter may keep (exactly-once counting and fenced writes): read when present. */
interface ReporterCounts {
  readonly duplicatesDropped?: number
  readonly fencedWrites?: number
}

export interface RestartPolicy {
  /** Restarts in a row before the supervisor gives up and stays unhealthy (the orchestrator restarts the process). */
  readonly maxRestarts: number
  /** Backoff before restart n: `baseMs · 2ⁿ`, at most `maxMs`, with jitter. */
  readonly baseMs: number
  readonly maxMs: number
  /** A consumer healthy and in its group this long gives the restart budget back. */
  readonly stableMs: number
  /** How long stopping a gone consumer may take before it is left behind. */
  readonly stopTimeoutMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, baseMs: 1_000, maxMs: 30_000, stableMs: 60_000, stopTimeoutMs: 10_000 }
const CHECK_INTERVAL_MS = 1_000

/** The reporter's health as `/healthz`, `/readyz` and `/metrics` tell it. */
export interface ReporterHealth {
  readonly healthy: boolean
  readonly ready: boolean
  readonly problem: string | null
  readonly consumer: {
    readonly phase: ConsumerState['phase']
    readonly since: string
    readonly memberId: string | null
    readonly assigned: readonly number[]
    readonly lastBatchAt: string | null
    readonly lastHeartbeatAt: string | null
    readonly crash: { readonly message: string; readonly restarting: boolean; readonly at: string } | null
  }
  readonly partitions: readonly PartitionLag[]
  readonly lag: number
  /** When the broker's offsets were last read (null: never). */
  readonly lagReadAt: string | null
  /** Comparisons counted since the process started (duplicates dropped are not in it). */
  readonly counted: number
  readonly duplicatesDropped: number
  readonly fencedWrites: number
  readonly restarts: number
  /** The restart budget is spent: the process stays unhealthy until it is restarted. */
  readonly gaveUp: boolean
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/**
 * Keeps the reporter's consumer alive within bounds: a consumer that crashed for good, stopped,
 * stayed out of its group, or went silent in it (no batch, no heartbeat) is stopped (bounded) and replaced by a
 * new reporter after a backoff, at most `maxRestarts` times in a row; after that the process stays
 * unhealthy so that its orchestrator restarts it. The new reporter takes its partitions up from the
 * saved state, as any new owner does.
 */
export class ReporterSupervisor {
  readonly #create: () => SupervisedReporter
  readonly #offsets: () => OffsetsReading | undefined
  readonly #log: Logger
  readonly #bounds: HealthBounds
  readonly #policy: RestartPolicy
  #current: SupervisedReporter
  #retired = { counted: 0, duplicatesDropped: 0, fencedWrites: 0 }
  #restarts = 0
  #inRow = 0
  #problemSince: number | null = null
  #healthySince: number | null = null
  #restarting = false
  #gaveUp = false
  #timer: NodeJS.Timeout | undefined

  constructor(options: {
    create: () => SupervisedReporter
    offsets: () => OffsetsReading | undefined
    logger: Logger
    bounds: HealthBounds
    policy?: Partial<RestartPolicy>
  }) {
    this.#create = options.create
    this.#offsets = options.offsets
    this.#log = options.logger.child({ component: 'reporter-supervisor' })
    this.#bounds = options.bounds
    this.#policy = { ...DEFAULT_RESTART_POLICY, ...options.policy }
    this.#current = this.#create()
  }

  /** Restarts of the consumer since the process started. */
  get restarts(): number {
    return this.#restarts
  }

  async start(): Promise<void> {
    await this.#current.start()
    this.#timer = setInterval(() => this.#check(Date.now()), CHECK_INTERVAL_MS).unref()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#current.stop()
  }

  health(now = Date.now()): ReporterHealth {
    const reporter = this.#current
    const state = reporter.consumerState
    const offsets = this.#offsets()
    const verdict = judgeConsumer(state, offsets, now, this.#bounds)
    const counts = reporter as SupervisedReporter & ReporterCounts
    const problem = this.#gaveUp ? `gave up after ${this.#inRow} restarts in a row: ${verdict.problem ?? 'the consumer failed again'}` : verdict.problem
    return {
      healthy: verdict.healthy && !this.#gaveUp && !this.#restarting,
      ready: verdict.ready && !this.#gaveUp && !this.#restarting,
      problem: this.#restarting ? `restarting the consumer: ${problem ?? ''}` : problem,
      consumer: {
        phase: state.phase,
        since: new Date(state.since).toISOString(),
        memberId: state.memberId,
        assigned: state.assigned,
        lastBatchAt: iso(state.lastBatchAt),
        lastHeartbeatAt: iso(state.lastHeartbeatAt),
        crash: state.crash ? { message: state.crash.error.message, restarting: state.crash.restarting, at: new Date(state.crash.at).toISOString() } : null,
      },
      partitions: verdict.partitions,
      lag: verdict.lag,
      lagReadAt: iso(offsets?.at ?? null),
      counted: this.#retired.counted + reporter.counted,
      duplicatesDropped: this.#retired.duplicatesDropped + (counts.duplicatesDropped ?? 0),
      fencedWrites: this.#retired.fencedWrites + (counts.fencedWrites ?? 0),
      restarts: this.#restarts,
      gaveUp: this.#gaveUp,
    }
  }

  #check(now: number): void {
    if (this.#restarting || this.#gaveUp) return
    const verdict = judgeConsumer(this.#current.consumerState, this.#offsets(), now, this.#bounds)
    if (verdict.healthy) {
      this.#problemSince = null
      if (verdict.ready) this.#healthySince ??= now
      if (this.#healthySince !== null && now - this.#healthySince >= this.#policy.stableMs) this.#inRow = 0
      return
    }
    this.#healthySince = null
    this.#problemSince ??= now
    if (this.#inRow >= this.#policy.maxRestarts) {
      this.#gaveUp = true
      this.#log.error({ problem: verdict.problem, restarts: this.#inRow }, 'reporter consumer gone; restart budget spent, staying unhealthy')
      return
    }
    if (now - this.#problemSince < backoffDelay(this.#inRow, { baseMs: this.#policy.baseMs, maxMs: this.#policy.maxMs, jitterMs: 0 })) return
    void this.#restart(verdict.problem ?? 'unknown')
  }

  async #restart(problem: string): Promise<void> {
    this.#restarting = true
    this.#inRow += 1
    this.#restarts += 1
    const old = this.#current
    this.#log.warn({ problem, attempt: this.#inRow, maxRestarts: this.#policy.maxRestarts }, 'restarting the reporter consumer')
    const stopped = await Promise.race([
      old.stop().then(
        () => true,
        () => true,
      ),
      sleep(this.#policy.stopTimeoutMs, false, { ref: false }),
    ])
    if (!stopped) this.#log.warn({ timeoutMs: this.#policy.stopTimeoutMs }, 'the gone consumer did not stop in time; left behind')
    const counts = old as SupervisedReporter & ReporterCounts
    this.#retired = {
      counted: this.#retired.counted + old.counted,
      duplicatesDropped: this.#retired.duplicatesDropped + (counts.duplicatesDropped ?? 0),
      fencedWrites: this.#retired.fencedWrites + (counts.fencedWrites ?? 0),
    }
    this.#current = this.#create()
    try {
      await this.#current.start()
    } catch (err) {
      // Still out of its group: the next check finds it so once the join bound has passed.
      this.#log.warn({ err }, 'the restarted reporter consumer did not start')
    } finally {
      this.#problemSince = null
      this.#restarting = false
    }
  }
}
