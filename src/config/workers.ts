// How many gateway processes serve the one port: `gateway.workers` in routes.config.ts or
// `ficus start --workers` (which wins). Read here, resolved against the machine's cores at start.

/** More processes than this is a typo, not a machine. */
export const MAX_WORKERS = 256
export const DEFAULT_WORKERS = 1
/** What the value must be, as messages say it. */
export const WORKERS_MUST_BE = `a whole number from 1 to ${MAX_WORKERS}, or "auto" (the available cores)`

export type WorkersSetting = number | 'auto'

/** `--workers` text: a whole number from 1 to MAX_WORKERS or `auto`; undefined when it is neither. */
export function parseWorkers(text: string): WorkersSetting | undefined {
  if (text === 'auto') return 'auto'
  if (!/^\d+$/.test(text)) return undefined
  const count = Number(text)
  return count >= 1 && count <= MAX_WORKERS ? count : undefined
}

/** The number of processes to run: `auto` is the available cores (at least 1, at most MAX_WORKERS). */
export function resolveWorkers(setting: WorkersSetting, availableCores: number): number {
  if (setting !== 'auto') return setting
  return Math.min(MAX_WORKERS, Math.max(1, Math.floor(availableCores)))
}
