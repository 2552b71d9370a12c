import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import { adminRequestLog } from '../admin/admin-guard.ts'
import { bearerMatches } from '../admin/bearer-auth.ts'
import { loadConfig } from '../config/load.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { sendError } from '../http/error-reply.ts'
import { createLogger } from '../observability/logger.ts'
import { sliceReport } from '../report/report.ts'
import { readTriage } from '../report/sources/triage-source.ts'
import { ReporterEvidence } from '../report/reporter/evidence-sources.ts'
import { MemoryReportStateStore, RedisReportStateStore } from '../report/reporter/report-state.ts'
import { DEFAULT_REPORTER_GROUP, ReporterService } from '../report/reporter/reporter.ts'
import type { ReporterSettings } from './settings.ts'
import { sharedTriageStores } from './triage-stores.ts'

export interface RunningReporter {
  readonly app: FastifyInstance
  close(): Promise<void>
}

/**
 * The composition root of `ficus reporter`: consumes the comparisons topic in a consumer group,
 * keeps rolling per-slice aggregates (in Redis with REDIS_URL, where the gateways' admin APIs read
 * them; in memory otherwise) and serves `GET /admin/slices/:id/report` and `/healthz`.
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
  const reporter = new ReporterService({
    ...(triage ? { register: triage.register } : {}),
    brokers: settings.brokers,
    topic: settings.topic,
    groupId: settings.groupId ?? DEFAULT_REPORTER_GROUP,
    store,
    logger,
    evidenceDays,
  })
  const aggregates = new ReporterEvidence(store, settings.topic)

  const logged: FastifyBaseLogger = logger
  const app = Fastify({ loggerInstance: logged, logController: new LogController({ disableRequestLogging: true }) })
  app.addHook('onResponse', adminRequestLog)
  app.setErrorHandler((err: FastifyError | FicusError, request, reply) => sendError(request, reply, err))
  app.get('/healthz', () => ({ status: 'ok', counted: reporter.counted, store: storeKind }))
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

  await reporter.start()
  await app.listen({ port: settings.port, host: settings.host })
  logger.info({ topic: settings.topic, port: settings.port, store: storeKind }, 'reporter ready')
  return {
    app,
    close: async () => {
      await app.close()
      await reporter.stop()
      await store.close()
      await triage?.register.close()
      await triage?.triage.close()
    },
  }
}
