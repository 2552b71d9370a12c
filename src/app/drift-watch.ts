import type { Logger } from 'pino'
import type { AuthorityState } from '../authority/authority-store.ts'
import type { GatewayConfig } from '../config/types.ts'
import type { Metrics } from '../observability/metrics.ts'
import { driftOf } from '../report/drift.ts'
import type { EvidenceSource } from '../report/reporter/evidence-sources.ts'

/**
 * The migration's regression alarm: every `intervalMs`, each slice that moved (authority not
 * `legacy`) and is still shadowed has the agreement of its drift window checked against its rule.
 * The metric follows every check; the log says when an alarm starts and when it ends, once each.
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
  let checking = false
  const check = async (): Promise<void> => {
    for (const slice of options.config.slices) {
      const authority = options.authorityOf(slice.id)?.authority ?? slice.authority
      if (!slice.drift || !slice.shadow || authority === 'legacy') {
        options.metrics.recordDrift(slice.id, undefined)
        alerting.delete(slice.id)
        continue
      }
      // Evidence that cannot be read now is checked at the next turn; the last figures stand meanwhile.
      const versions = await options.evidence.versions(slice.id).catch(() => null)
      if (versions === null) continue
      const drift = driftOf(versions?.get(slice.compare.rulesHash), slice.drift, Date.now())
      options.metrics.recordDrift(slice.id, drift)
      const figures = { slice: slice.id, authority, agreement: drift.agreement, samples: drift.samples, rule: slice.drift }
      if (drift.alerting && !alerting.has(slice.id)) {
        alerting.add(slice.id)
        log.warn(figures, 'drift: agreement with legacy fell below the slice’s drift rule after its flip')
      } else if (!drift.alerting && alerting.delete(slice.id)) log.info(figures, 'drift: agreement is back within the slice’s drift rule')
    }
  }
  const timer = setInterval(() => {
    if (checking) return
    checking = true
    void check().finally(() => (checking = false))
  }, options.intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
