/**
 * kafkajs 2.2.4 schedules its request-queue check with `setTimeout(fn, throttledUntil - Date.now())`
 * while `throttledUntil` is still -1, a negative delay (tulios/kafkajs#1751, fixed upstream but never
 * released). Node 24 then prints a TimeoutNegativeWarning on stderr for every client, which would end
 * up in `ficus report`'s output. Node runs such a timer after 1 ms — what kafkajs means — so the
 * warning carries no information. This drops exactly that warning when kafkajs raised it, and
 * nothing else.
 */
let installed = false

export function silenceKafkajsNegativeTimeoutWarning(): void {
  if (installed) return
  installed = true
  const emitWarning = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    if (isKafkajsNegativeTimeout(rest[0])) return
    emitWarning(warning, ...rest)
  }
}

function isKafkajsNegativeTimeout(typeOrOptions: unknown): boolean {
  const type = typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type
  if (type !== 'TimeoutNegativeWarning') return false
  return /[\\/]kafkajs[\\/]src[\\/]/.test(new Error().stack ?? '')
}
