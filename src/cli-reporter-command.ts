import Fastify, { LogController, type FastifyBaseLogger, type FastifyError } from 'fastify'
import { adminRequestLog } from './admin/admin-guard.ts'
import { bearerMatches } from './admin/bearer-auth.ts'
import { DEFAULT_REDIS_PREFIX } from './authority/redis-authority-store.ts'
import { parseCliArgs } from './cli-args.ts'
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load.ts'
import { sendError } from './error-reply.ts'
import { FicusError } from './errors.ts'
import { readBrokers, readLogLevel, readPort } from './main.ts'
import { createLogger } from './observability/logger.ts'
import { DEFAULT_TOPICS } from './publish/events.ts'
import { ReporterAggregates } from './report/readiness-source.ts'
import { MemoryReportStateStore, RedisReportStateStore } from './report/report-state.ts'
import { DEFAULT_REPORTER_GROUP, Reporter } from './report/reporter.ts'
import { sliceReport } from './report/report.ts'

export const DEFAULT_REPORTER_PORT = 9091

export interface ReporterIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean }
  readonly cwd: string
}

/**
 * `ficus reporter`: consumes the comparisons topic in a consumer group, keeps rolling per-slice
 * aggregates (in Redis with REDIS_URL, where the gateways' admin APIs read them; in memory
 * otherwise) and serves `GET /admin/slices/:id/report` and `/healthz` on REPORTER_PORT. Runs until
 * SIGTERM or SIGINT.
 */
export async function reporterCommand(args: readonly string[], io: ReporterIo): Promise<number> {
  const { values } = parseCliArgs({ args: [...args], options: { config: { type: 'string' } }, strict: true, allowPositionals: false })
  const { env } = io
  const brokers = readBrokers(env)
  if (brokers.length === 0) throw new FicusError('FICUS_ERR_ENV_INVALID', 'KAFKA_BROKERS: the reporter reads comparisons from Kafka and needs it (got nothing)')
  const level = readLogLevel(env)
  const port = readPort(env, 'REPORTER_PORT', DEFAULT_REPORTER_PORT)
  const token = env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN
  const logger = createLogger({ level, pretty: io.stdout.isTTY === true && env.CI !== 'true' })
  const config = await loadConfig(values.config ?? env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE, io.cwd)
  const topic = env.FICUS_TOPIC_COMPARISONS ?? DEFAULT_TOPICS.comparisons
  const store = env.REDIS_URL ? new RedisReportStateStore(env.REDIS_URL, env.FICUS_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX, { queueWhileOffline: true }) : new MemoryReportStateStore()
  const evidenceDays = Math.max(...config.slices.map((slice) => slice.readiness.windowDays), 1) + 1
  const reporter = new Reporter({ brokers, topic, groupId: env.FICUS_REPORTER_GROUP ?? DEFAULT_REPORTER_GROUP, store, logger, evidenceDays })
  const aggregates = new ReporterAggregates(store, topic)

  const logged: FastifyBaseLogger = logger
  const app = Fastify({ loggerInstance: logged, logController: new LogController({ disableRequestLogging: true }) })
  app.addHook('onResponse', adminRequestLog)
  app.setErrorHandler((err: FastifyError | FicusError, request, reply) => sendError(request, reply, err))
  app.get('/healthz', () => ({ status: 'ok', counted: reporter.counted, store: env.REDIS_URL ? 'redis' : 'memory' }))
  app.get<{ Params: { id: string } }>('/admin/slices/:id/report', async (request, reply) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer')
      throw new FicusError('FICUS_ERR_ADMIN_UNAUTHORIZED', 'missing or invalid bearer token')
    }
    const slice = config.slices.find((candidate) => candidate.id === request.params.id)
    if (!slice) throw new FicusError('FICUS_ERR_UNKNOWN_SLICE', `unknown slice ${JSON.stringify(request.params.id)}`)
    return { ...sliceReport(slice.id, await aggregates.versions(slice.id), slice), evidence: 'reporter' }
  })

  await reporter.start()
  await app.listen({ port, host: token === undefined ? '127.0.0.1' : (env.REPORTER_HOST ?? '0.0.0.0') })
  logger.info({ topic, port, store: env.REDIS_URL ? 'redis' : 'memory' }, 'reporter ready')
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
  await app.close()
  await reporter.stop()
  await store.close()
  return 0
}
