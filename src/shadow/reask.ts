import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ReaskSchedule } from '../config/types.ts'

/** The waits of a schedule: 150, 300, 600, … trimmed so that they add up to `maxMs` at most. */
export function reaskWaits(schedule: ReaskSchedule): number[] {
  const waits: number[] = []
  let total = 0
  let next = Math.max(1, schedule.delayMs)
  while (total < schedule.maxMs && waits.length < 32) {
    const wait = Math.min(next, schedule.maxMs - total)
    waits.push(wait)
    total += wait
    next = Math.ceil(next * schedule.factor)
  }
  return waits
}

export interface Reasked<T> {
  /** The answer that converged, or undefined when none did within the schedule. */
  readonly converged: T | undefined
  /** Milliseconds from the first mismatch to the answer that converged; null when none did. */
  readonly lagMs: number | null
  /** How many times the other side was asked again. */
  readonly reasks: number
}

/**
 * Asks the other side again on the schedule until `agrees` holds of an answer (timing lag, with
 * its duration) or the schedule ends (a lag beyond it is a genuine conflict). `ask` answering
 * undefined (a failed call) ends the attempt.
 */
export async function reaskUntilConverged<T>(schedule: ReaskSchedule, ask: () => Promise<T | undefined>, agrees: (answer: T) => boolean): Promise<Reasked<T>> {
  const started = performance.now()
  let reasks = 0
  for (const wait of reaskWaits(schedule)) {
    await sleep(wait)
    reasks += 1
    const answer = await ask()
    if (answer === undefined) break
    if (agrees(answer)) return { converged: answer, lagMs: Math.round((performance.now() - started) * 10) / 10, reasks }
  }
  return { converged: undefined, lagMs: null, reasks }
}
