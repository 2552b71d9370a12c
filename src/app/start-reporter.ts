import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import { adminRequestLog } from '../admin/admin-guard.ts'
import { bearerMatches } from '../admin/bearer-auth.ts'
import { loadConfig } from '../config/load.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { sendError } from '../http/error-reply.ts'
import { createLogger } from '../observability/logger.ts'
import { ReporterMetrics } from '../observability/reporter-metrics.ts'
import { sliceReport } from '../report/report.ts'
import { readTriage } from '../report/sources/triage-source.ts'
import { ReporterEvidence } from '../report/reporter/evidence-sources.ts'
import { MemoryReportStateStore, RedisReportStateStore } from '../report/reporter/report-state.ts'
import { ConsumerLagProbe } from '../report/reporter/consumer-lag.ts'
import { DEFAULT_HEALTH_BOUNDS } from '../report/reporter/reporter-health.ts'
import { ReporterSupervisor } from '../report/reporter/reporter-supervisor.ts'
import { DEFAULT_REPORTER_GROUP, REPORTER_SESSION_TIMEOUT_MS, ReporterService } from '../report/reporter/reporter.ts'
import type { ReporterSettings } from './settings.ts'
import { sharedTriageStores } from './triage-stores.ts'

export interface RunningReporter {
  readonly app: FastifyInstance
  /** Keeps the consumer alive within bounds, and tells its health. */
  readonly supervisor: ReporterSupervisor
  close(): Promise<void>
}

/**
 * The composition root of `ficus reporter`: consumes the comparisons topic in a consumer group,
 * keeps rolling per-slice aggregates (in Redis with REDIS_URL, where the gateways' admin APIs read
 * them; in memory otherwise) and serves `GET /admin/slices/:id/report`, `/healthz`, `/readyz` and
 * `/metrics`. Health is the consumer's real state (issue 19): a crashed, stopped, evicted or stalled
 * consumer answers 503 and is replaced within bounds.
 */
export async function startReporter(settings: ReporterSettings, cwd: string): Promise<RunningReporter> {
  const logger = createLogger({ level: settings.logLevel, pretty: settings.prettyLogs })
  const config = await loadConfig(settings.configFile, cwd)
  const store = settings.redisUrl
    ? new RedisReportStateStore(settings.redisUrl, settings.redisPrefix, { queueWhileOffline: true })
    : new MemoryReportStateStore()
  const storeKind = settings.redisUrl ? 'redis' : 'memory'
  const evidenceDays = Math.max(...config.slices.map((slice) => slice.readiness.windowDays), 1) + 1
  // With Redis the gateways' register and triage are shared: the reporter feeds the register from
  // the comparisons topic (the gateways do not, when their evidence is the reporter's), and the
  // report judges with the triage.
  const triage = settings.redisUrl ? sharedTriageStores({ url: settings.redisUrl, prefix: settings.redisPrefix, instance: 'reporter' }, logger) : undefined
  await triage?.register.open()
  await triage?.triage.open()
  const groupId = settings.groupId ?? DEFAULT_REPORTER_GROUP
  // Each reporter its own client id, so that group tools tell the members apart.
  const clientId = `ficus-reporter-${settings.instance}`
  const lag = new ConsumerLagProbe({ brokers: settings.brokers, clientId: `${clientId}-lag`, topic: settings.topic, groupId, logger })
  const supervisor = new ReporterSupervisor({
    create: () =>
      new ReporterService({
        ...(triage ? { register: triage.register } : {}),
        brokers: settings.brokers,
        topic: settings.topic,
        groupId,
        clientId,
        store,
        logger,
        evidenceDays,
      }),
    offsets: () => lag.latest,
    logger,
    // Out of the group longer than a few session timeouts, or silent (no batch, no heartbeat) in it: gone.
    bounds: { joinMs: Math.max(DEFAULT_HEALTH_BOUNDS.joinMs, 6 * REPORTER_SESSION_TIMEOUT_MS), stallMs: settings.stallMs },
    policy: { maxRestarts: settings.maxRestarts },
  })
  const metrics = new ReporterMetrics(() => ({ topic: settings.topic, ...supervisor.health() }))
  const aggregates = new ReporterEvidence(store, settings.topic)

  const logged: FastifyBaseLogger = logger
  const app = Fastify({ loggerInstance: logged, logController: new LogController({ disableRequestLogging: true }) })
  app.addHook('onResponse', adminRequestLog)
  app.setErrorHandler((err: FastifyError | FicusError, request, reply) => sendError(request, reply, err))
  app.get('/healthz', (_request, reply) => {
    const health = supervisor.health()
    return reply.code(health.healthy ? 200 : 503).send({ status: health.healthy ? 'ok' : 'unhealthy', store: storeKind, ...health })
  })
  app.get('/readyz', (_request, reply) => {
    const health = supervisor.health()
    return reply.code(health.ready ? 200 : 503).send({ status: health.ready ? 'ready' : 'not-ready', store: storeKind, ...health })
  })
  app.get('/metrics', async (request, reply) => {
    const { contentType, body } = await metrics.exposition(request.headers.accept)
    return reply.header('vary', 'accept').type(contentType).send(body)
  })
  app.get<{ Params: { id: string } }>('/admin/slices/:id/report', async (request, reply) => {
    if (settings.token !== undefined && !bearerMatches(request.headers.authorization, settings.token)) {
      reply.header('www-authenticate', 'Bearer')
      throw fail.adminUnauthorized('missing or invalid bearer token')
    }
    const slice = config.slices.find((candidate) => candidate.id === request.params.id)
    if (!slice) throw fail.unknownSlice(`unknown slice ${JSON.stringify(request.params.id)}`)
    const triaged = triage ? (await readTriage(triage, slice.id))(slice.id) : undefined
    return { ...sliceReport(slice.id, await aggregates.versions(slice.id), slice, triaged ? { triage: triaged } : {}), evidence: 'reporter' }
  })

  lag.start()
  await supervisor.start()
  await app.listen({ port: settings.port, host: settings.host })
  logger.info({ topic: settings.topic, port: settings.port, store: storeKind, clientId }, 'reporter ready')
  return {
    app,
    supervisor,
    close: async () => {
      await app.close()
      await supervisor.close()
      await lag.close()
      await store.close()
      await triage?.register.close()
      await triage?.triage.close()
    },
  }
}
