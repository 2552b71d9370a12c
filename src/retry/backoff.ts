/** The one retry policy of Ficus: exponential backoff, capped, with jitter so instances do not retry in step. */
export function backoffDelay(attempt: number, options: { readonly baseMs: number; readonly maxMs: number; readonly jitterMs?: number }): number {
  const exponential = options.baseMs * 2 ** Math.min(Math.max(attempt, 0), 20)
  return Math.min(exponential, options.maxMs) + Math.floor(Math.random() * (options.jitterMs ?? 100))
}
