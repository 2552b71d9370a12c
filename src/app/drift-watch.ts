import type { Logger } from 'pino'
import type { AuthorityState } from '../authority/authority-store.ts'
import type { GatewayConfig, SliceConfig } from '../config/types.ts'
import { modernBasisPoints } from '../model/authority-value.ts'
import type { Metrics } from '../observability/metrics.ts'
import { driftOf } from '../report/drift.ts'
import type { EvidenceSource } from '../report/reporter/evidence-sources.ts'

/**
 * The migration's regression alarm: every `intervalMs`, each slice that moved (some modern traffic)
 * and is still shadowed has the agreement since its flip checked against its drift rule. The metric
 * follows every check; the log says when an alarm starts and when it ends (agreement back within the
 * rule, or the slice back on legacy), once each. Too few samples keep the alarm as it was.
 */
export function watchDrift(options: {
  readonly config: GatewayConfig
  readonly evidence: EvidenceSource
  readonly authorityOf: (sliceId: string) => AuthorityState | undefined
  readonly metrics: Pick<Metrics, 'recordDrift'>
  readonly logger: Logger
  readonly intervalMs: number
}): () => void {
  const log = options.logger.child({ component: 'drift' })
  const alerting = new Set<string>()
  const stopWatching = (slice: SliceConfig, authority: string): void => {
    options.metrics.recordDrift(slice.id, undefined)
    if (alerting.delete(slice.id)) log.info({ slice: slice.id, authority }, 'drift: alarm ended, the slice is back on legacy')
  }
  const check = async (): Promise<void> => {
    const watched = options.config.slices.filter((slice) => slice.drift !== null && slice.shadow !== null)
    const moved = watched.filter((slice) => modernBasisPoints(options.authorityOf(slice.id)?.authority ?? slice.authority) > 0)
    for (const slice of watched) if (!moved.includes(slice)) stopWatching(slice, options.authorityOf(slice.id)?.authority ?? slice.authority)
    if (moved.length === 0) return
    // One reading of the evidence per check, for every slice; unreadable now, checked at the next turn.
    const versionsOf = await options.evidence.reader().catch(() => null)
    if (versionsOf === null) return
    for (const slice of moved) judge(slice, versionsOf(slice.id)?.get(slice.compare.rulesHash))
  }
  const judge = (slice: SliceConfig, aggregate: Parameters<typeof driftOf>[0]): void => {
    const rule = slice.drift
    if (!rule) return
    const state = options.authorityOf(slice.id)
    const flippedAt = state?.updatedAt ? Date.parse(state.updatedAt) : null
    const drift = driftOf(aggregate, rule, Date.now(), flippedAt)
    const was = alerting.has(slice.id)
    const now = drift.state === 'too-few' ? was : drift.state === 'alerting'
    options.metrics.recordDrift(slice.id, { agreement: drift.agreement, alerting: now })
    const figures = { slice: slice.id, authority: state?.authority ?? slice.authority, agreement: drift.agreement, samples: drift.samples, rule }
    if (now && !was) {
      alerting.add(slice.id)
      log.warn(figures, 'drift: agreement with legacy fell below the slice’s drift rule after its flip')
    } else if (!now && was) {
      alerting.delete(slice.id)
      log.info(figures, 'drift: agreement is back within the slice’s drift rule')
    }
  }
  let checking = false
  const timer = setInterval(() => {
    if (checking) return
    checking = true
    void check()
      .catch((err: unknown) => log.warn({ err }, 'drift check failed'))
      .finally(() => (checking = false))
  }, options.intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
