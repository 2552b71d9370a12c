import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Comparison } from '../compare/comparison.ts'
import type { EventSink } from '../publish/event-sink.ts'
import { backoffDelay } from '../retry/backoff.ts'
import { CHECKPOINT_FORMAT, DoneSet, emptyCounts, writeCheckpoint, type Checkpoint, type RunCounts } from './checkpoint.ts'
import { askBoth, judgeAsked, keyRequest, pauseReason, type AskContext } from './reconcile-ask.ts'
import { TokenBucket } from './token-bucket.ts'

/** How often the checkpoint is written while a run goes on (and once at its end). */
export const CHECKPOINT_INTERVAL_MS = 1_000
/** Times a key is asked while a breaker is open or legacy asks to slow down, before what it got is recorded. */
export const DEFAULT_MAX_TRIES = 5
/** The pause after a key had to be put back: doubled for each pause in a row, capped. */
export const DEFAULT_PAUSE = { baseMs: 500, maxMs: 30_000 } as const
/** Keys in a row that spent every try before a run gives up (RunPlan.giveUpAfter). */
export const DEFAULT_GIVE_UP_AFTER = 10

/** Families in which a side failed to answer: what a run's error share counts. */
export const ERROR_FAMILIES: ReadonlySet<string> = new Set(['shadow-error', 'primary-error', 'shadow-skipped'])

export interface RunProgress {
  readonly done: number
  readonly total: number
  readonly errors: number
  /** Keys done in this session, and how long it has gone on: the rate and ETA come from these. */
  readonly doneThisSession: number
  readonly elapsedMs: number
}

export interface RunPlan {
  readonly context: Omit<AskContext, 'paced'>
  readonly keys: readonly string[]
  readonly source: Checkpoint['source']
  readonly ratePerSecond: number
  readonly concurrency: number
  readonly sink: EventSink<Comparison>
  readonly checkpointFile: string
  /** The checkpoint of a run being resumed: its done keys are skipped, its counts go on. */
  readonly resumed: Checkpoint | undefined
  /** Aborted: no key is taken any more; those in flight get `stopTimeoutMs` to finish. */
  readonly signal: AbortSignal
  readonly stopTimeoutMs: number
  readonly maxTries?: number
  readonly pause?: { readonly baseMs: number; readonly maxMs: number }
  /**
   * Keys in a row that spent every try (a side's breaker open, legacy down or asking to slow down)
   * before the run gives up: it stops as if told to, resumable, instead of crawling through every
   * key at the longest pause (DEFAULT_GIVE_UP_AFTER).
   */
  readonly giveUpAfter?: number
  readonly logger: Logger
  readonly onProgress?: (progress: RunProgress) => void
}

export interface RunResult {
  readonly checkpoint: Checkpoint
  /** True when the run was stopped before every key was done. */
  readonly stopped: boolean
  /** Why the run gave up by itself (keys in a row that spent every try); undefined when it did not. */
  readonly gaveUp: string | undefined
  readonly sessionMs: number
  readonly doneThisSession: number
}

/**
 * A reconciliation run: each key not yet done asked of both sides at the run's pace (a token
 * bucket) with at most `concurrency` keys in flight, judged and published as the parallel run
 * does; a key is marked done once its comparison is handed to the sink; the checkpoint is written
 * at most every second and at the end.
 */
export async function runReconciliation(given: RunPlan): Promise<RunResult> {
  // Giving up stops the run as a signal does: the key that gave up is left for a resume.
  const giveUp = new AbortController()
  const plan: RunPlan = { ...given, signal: AbortSignal.any([given.signal, giveUp.signal]) }
  const state = new RunState(plan, (reason) => giveUp.abort(reason))
  const bucket = new TokenBucket(plan.ratePerSecond, Math.min(plan.concurrency, Math.ceil(plan.ratePerSecond)))
  const context: AskContext = { ...plan.context, paced: () => bucket.take(plan.signal) }
  const saver = setInterval(() => void state.save(), CHECKPOINT_INTERVAL_MS)
  let cursor = 0
  const next = (): number | undefined => {
    while (cursor < plan.keys.length && state.done.has(cursor)) cursor += 1
    return cursor < plan.keys.length && !plan.signal.aborted ? cursor++ : undefined
  }
  const worker = async (): Promise<void> => {
    for (let index = next(); index !== undefined; index = next()) await askKey(state, context, index)
  }
  const workers = Promise.all(Array.from({ length: plan.concurrency }, () => worker()))
  try {
    const stopped = new Promise<void>((resolve) => plan.signal.addEventListener('abort', () => resolve(), { once: true }))
    await Promise.race([workers, stopped.then(() => Promise.race([workers, sleep(plan.stopTimeoutMs, undefined, { ref: false })]))])
  } finally {
    clearInterval(saver)
    // Keys still in flight after the bounded wait are not recorded: a resume asks them again.
    state.closed = true
  }
  const finished = state.done.size === plan.keys.length
  const checkpoint = await state.save(finished)
  const gaveUp = giveUp.signal.aborted ? String(giveUp.signal.reason) : undefined
  return { checkpoint, stopped: !finished, gaveUp, sessionMs: state.elapsedMs, doneThisSession: state.doneThisSession }
}

/** Asks one key until it can be recorded (or its tries are spent), then records it. */
async function askKey(state: RunState, context: AskContext, index: number): Promise<void> {
  const { plan } = state
  const key = plan.keys[index] as string
  const maxTries = plan.maxTries ?? DEFAULT_MAX_TRIES
  try {
    for (let attempt = 1; ; attempt += 1) {
      await state.waitWhilePaused()
      const pair = await askBoth(context, keyRequest(context, key, index))
      const reason = pauseReason(pair)
      if (reason === undefined) state.resume()
      // Stopped (or given up) while the sides were not answering: the key is left for a resume.
      else if (plan.signal.aborted) return
      else if (attempt < maxTries) {
        state.pause(reason)
        continue
      }
      // Every try spent: recorded as live traffic would record it, unless too many keys in a row
      // did so — then the run gives up, and this key is left for a resume.
      else if (!state.spentTries(reason, maxTries)) return
      const record = await judgeAsked(context, pair, key)
      state.record(index, record)
      return
    }
  } catch (err) {
    // Stopped while waiting for a token or a pause: the key is left for a resume.
    if (plan.signal.aborted) return
    throw err
  }
}

/** What a run holds while it goes: done keys, counts, the pause in force, the checkpoint writes. */
class RunState {
  readonly plan: RunPlan
  readonly done: DoneSet
  readonly counts: RunCounts
  readonly #startedAt: string
  readonly #priorMs: number
  readonly #started = performance.now()
  #pausedUntil = 0
  #pausesInRow = 0
  #spentInRow = 0
  readonly #giveUp: (reason: string) => void
  #dirty = false
  #saving: Promise<unknown> = Promise.resolve()
  doneThisSession = 0
  closed = false

  constructor(plan: RunPlan, giveUp: (reason: string) => void) {
    this.plan = plan
    this.#giveUp = giveUp
    this.done = new DoneSet(plan.resumed?.done)
    this.counts = plan.resumed ? structuredClone(plan.resumed.counts) : emptyCounts()
    this.#startedAt = plan.resumed?.startedAt ?? new Date().toISOString()
    this.#priorMs = plan.resumed?.activeMs ?? 0
  }

  get elapsedMs(): number {
    return performance.now() - this.#started
  }

  get errors(): number {
    let errors = 0
    for (const family of ERROR_FAMILIES) errors += this.counts.families[family] ?? 0
    return errors
  }

  record(index: number, record: Comparison): void {
    if (this.closed) return
    this.plan.sink.write(record)
    this.done.add(index)
    const { counts } = this
    counts.asked += 1
    counts.outcomes[record.outcome] = (counts.outcomes[record.outcome] ?? 0) + 1
    counts.families[record.family] = (counts.families[record.family] ?? 0) + 1
    counts.categories[record.category] = (counts.categories[record.category] ?? 0) + 1
    if (record.cause !== null) {
      const causes = (counts.causes[record.family] ??= {})
      causes[record.cause] = (causes[record.cause] ?? 0) + 1
    }
    this.doneThisSession += 1
    this.#dirty = true
    this.plan.onProgress?.({
      done: this.done.size,
      total: this.plan.keys.length,
      errors: this.errors,
      doneThisSession: this.doneThisSession,
      elapsedMs: this.elapsedMs,
    })
  }

  /** A key had to be put back: every worker waits, longer for each pause in a row. */
  pause(reason: string): void {
    this.counts.pauses += 1
    this.#pausesInRow += 1
    const pause = this.plan.pause ?? DEFAULT_PAUSE
    const delay = backoffDelay(this.#pausesInRow - 1, { baseMs: pause.baseMs, maxMs: pause.maxMs, jitterMs: Math.min(100, pause.baseMs) })
    this.#pausedUntil = Math.max(this.#pausedUntil, performance.now() + delay)
    this.#dirty = true
    this.plan.logger.warn({ runId: this.plan.context.runId, reason, pauseMs: delay }, 'reconciliation paused')
  }

  resume(): void {
    this.#pausesInRow = 0
    this.#spentInRow = 0
  }

  /** A key spent every try for `reason`: true when it is to be recorded, false when the run gives up instead. */
  spentTries(reason: string, tries: number): boolean {
    this.#spentInRow += 1
    const limit = this.plan.giveUpAfter ?? DEFAULT_GIVE_UP_AFTER
    if (this.#spentInRow < limit) return true
    const why = `${limit} keys in a row spent their ${tries} tries (${reason})`
    this.plan.logger.error({ runId: this.plan.context.runId, reason }, `reconciliation gave up: ${why}`)
    this.#giveUp(why)
    return false
  }

  async waitWhilePaused(): Promise<void> {
    for (let wait = this.#pausedUntil - performance.now(); wait > 0; wait = this.#pausedUntil - performance.now())
      await sleep(Math.ceil(wait), undefined, { signal: this.plan.signal })
  }

  /** Writes the checkpoint when something changed (always when `final`); one write at a time. */
  save(final = false): Promise<Checkpoint> {
    const write = this.#saving.then(async () => {
      const checkpoint = this.#checkpoint(final)
      if (this.#dirty || final) {
        this.#dirty = false
        await writeCheckpoint(this.plan.checkpointFile, checkpoint)
      }
      return checkpoint
    })
    this.#saving = write.catch((err: unknown) => this.plan.logger.warn({ err }, 'could not write the reconciliation checkpoint'))
    return write
  }

  #checkpoint(finished: boolean): Checkpoint {
    const { plan } = this
    const now = new Date().toISOString()
    return {
      format: CHECKPOINT_FORMAT,
      runId: plan.context.runId,
      slice: plan.context.slice.id,
      route: plan.context.route.name,
      source: plan.source,
      totalKeys: plan.keys.length,
      startedAt: this.#startedAt,
      updatedAt: now,
      finishedAt: finished ? now : null,
      activeMs: Math.round(this.#priorMs + this.elapsedMs),
      done: this.done.toJSON(),
      counts: structuredClone(this.counts),
    }
  }
}
