import type { RunProgress } from './reconcile-run.ts'

/** A plain progress line at least this often without a terminal (CI, pipes)… */
export const PLAIN_PROGRESS_INTERVAL_MS = 10_000
/** …and at each tenth of the keys. */
const PLAIN_PROGRESS_STEPS = 10
/** The bar on a terminal is redrawn at most this often. */
const BAR_REDRAW_MS = 100
const BAR_WIDTH = 24

/** Rate and ETA as a person reads them. */
function figures(progress: RunProgress): { share: number; rate: number; eta: string } {
  const share = progress.total > 0 ? progress.done / progress.total : 1
  const rate = progress.elapsedMs > 0 ? progress.doneThisSession / (progress.elapsedMs / 1000) : 0
  const left = progress.total - progress.done
  const seconds = rate > 0 ? Math.ceil(left / rate) : null
  const eta =
    seconds === null
      ? '?'
      : seconds >= 3600
        ? `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
        : seconds >= 60
          ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
          : `${seconds}s`
  return { share, rate, eta }
}

/**
 * A run's progress on standard error: a bar redrawn in place on a terminal (done/total, %, rate,
 * ETA, errors); otherwise a plain line every 10 s and at each 10 %.
 */
export function runProgress(
  stream: { isTTY?: boolean; write(text: string): unknown },
  now: () => number = Date.now,
): {
  update: (progress: RunProgress) => void
  end: () => void
} {
  let last = 0
  let step = -1
  let drawn = false
  if (stream.isTTY) {
    return {
      update: (progress) => {
        const time = now()
        if (time - last < BAR_REDRAW_MS && progress.done < progress.total) return
        last = time
        const { share, rate, eta } = figures(progress)
        const filled = Math.round(share * BAR_WIDTH)
        drawn = true
        stream.write(
          `\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${progress.done}/${progress.total} ${(share * 100).toFixed(0)}% ${rate.toFixed(1)}/s ETA ${eta} errors ${progress.errors}`,
        )
      },
      end: () => {
        if (drawn) stream.write('\r\x1b[2K')
      },
    }
  }
  return {
    update: (progress) => {
      const time = now()
      const { share, rate, eta } = figures(progress)
      const reached = Math.floor(share * PLAIN_PROGRESS_STEPS)
      if (last === 0) last = time
      if (reached <= step && time - last < PLAIN_PROGRESS_INTERVAL_MS) return
      step = Math.max(step, reached)
      last = time
      stream.write(
        `progress ${progress.done}/${progress.total} (${(share * 100).toFixed(0)}%) ${rate.toFixed(1)} keys/s, ETA ${eta}, errors ${progress.errors}\n`,
      )
    },
    end: () => undefined,
  }
}
