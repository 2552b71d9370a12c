import { setTimeout as sleep } from 'node:timers/promises'

/** How long to keep asking, and how often. */
export interface WaitOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number
  /** Pause between two asks; default 25 ms. */
  readonly intervalMs?: number
}

const DEFAULT_WAIT_TIMEOUT_MS = 10_000
const DEFAULT_WAIT_INTERVAL_MS = 25

/**
 * Reads `read` until `done` holds for what it read or `timeoutMs` has passed, and returns the last
 * value read either way: for a wait followed by assertions on that value, which then report what
 * was wrong. An error thrown by `read` ends the wait.
 */
export async function poll<T>(read: () => T | Promise<T>, done: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = DEFAULT_WAIT_INTERVAL_MS } = options
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value) || performance.now() >= deadline) return value
    await sleep(intervalMs)
  }
}

/**
 * Waits until `condition` holds and resolves with the milliseconds that took; rejects naming
 * `what` (a function is asked only then, for a description of the state at the time) once
 * `timeoutMs` has passed. An error thrown by `condition` ends the wait.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string | (() => string), options: WaitOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS
  const started = performance.now()
  if (!(await poll(condition, (held) => held, options))) {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`)
  }
  return performance.now() - started
}
