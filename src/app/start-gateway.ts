import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildAdminServer } from '../admin/admin-server.ts'
import type { AuthorityStore } from '../authority/authority-store.ts'
import { ChangeJournal } from '../publish/authority-change-journal.ts'
import { FileAuthorityStore } from '../authority/file-authority-store.ts'
import { RedisAuthorityStore } from '../authority/redis-authority-store.ts'
import { modernBasisPoints } from '../model/authority-value.ts'
import { loadConfig } from '../config/load.ts'
import type { GatewayConfig } from '../config/types.ts'
import { FileNoiseDecisionStore, type NoiseDecisionRecord, type NoiseDecisionStore } from '../decisions/noise-decisions.ts'
import { RedisNoiseDecisionStore } from '../decisions/redis-noise-decisions.ts'
import {
  AUDIT_FILE,
  AUTHORITY_CACHE_FILE,
  AUTHORITY_FILE,
  CHANGE_JOURNAL_FILE,
  COMPARISONS_DIR,
  deploymentSalt,
  NOISE_DECISIONS_FILE,
  prepareDataDir,
} from './data-dir.ts'
import { heapTunedForRequests } from './gc-tuning.ts'
import { triageStores } from './triage-stores.ts'
import { IdentityMaps } from '../identity/identity-maps.ts'
import { watchDrift } from './drift-watch.ts'
import { LOOPBACK, MIN_TOKEN_LENGTH, type Settings } from './settings.ts'
import { fail, isFicusError } from '../errors/errors.ts'
import { buildGateway } from '../proxy/gateway.ts'
import { createLogger } from '../observability/logger.ts'
import { Metrics } from '../observability/metrics.ts'
import { openEventSinks } from '../publish/open-sinks.ts'
import { feedRegister } from '../register/discrepancy-register.ts'
import { LocalEvidence, ReporterEvidence, type EvidenceSource } from '../report/reporter/evidence-sources.ts'
import { RedisReportStateStore } from '../report/reporter/report-state.ts'
import type { TriageSources } from '../report/sources/triage-source.ts'
import { workerFiles } from '../report/sources/jsonl-source.ts'
import { ShadowRunner } from '../shadow/shadow-runner.ts'
import { openCaptureStore } from '../capture/open-capture-store.ts'
import { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { UpstreamPools } from '../upstream/upstream-pools.ts'
import type { WorkerLink } from './worker-link.ts'
import { sharedFileRegister } from './worker-stores.ts'

/** How long closing what a failed start had opened may take before the failure is reported anyway. */
export const START_CLEANUP_TIMEOUT_MS = 5_000
/** How often changes left open in the authority journal are looked up again. */
const JOURNAL_SETTLE_INTERVAL_MS = 10_000

export interface RunningGateway {
  readonly app: FastifyInstance
  readonly admin: FastifyInstance
  readonly config: GatewayConfig
  readonly store: AuthorityStore
  readonly logger: Logger
  readonly metrics: Metrics
  /** The discrepancy register and its triage, as reports read them (an embedded file register stays readable after close). */
  readonly triage: TriageSources
  /** `http://host:port` the gateway listens on. */
  readonly url: string
  /** `http://host:port` of the admin API. */
  readonly adminUrl: string
  /** Graceful shutdown: stop accepting, finish in-flight requests (bounded), close pools, persist. */
  close(): Promise<void>
}

/** Closes what a start had opened; registered as each step succeeds, run last-opened first. */
type Closer = () => Promise<void> | void

/**
 * Loads the config, opens the authority store, builds the gateway and listens. Nothing listens
 * unless every step succeeded: a bad config or unreadable state never starts half-configured.
 * When a step fails, whatever the earlier ones opened (a port, the store, Redis and Kafka clients)
 * is closed, within START_CLEANUP_TIMEOUT_MS, before the error is thrown.
 */
export async function startGateway(settings: Settings, options: { logger?: Logger; config?: GatewayConfig; link?: WorkerLink } = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel, pretty: settings.prettyLogs })
  const config = options.config ?? (await loadConfig(settings.configFile, undefined, { timeoutMs: settings.configTimeoutMs }))
  await prepareDataDir(settings)
  const opened: Closer[] = []
  try {
    return await openGateway(settings, config, logger, opened, options.link)
  } catch (err) {
    // The CLI prints one line; the stack of a failure nobody planned for goes to the log.
    if (!isFicusError(err)) logger.error({ err }, 'start failed')
    await closeWithin(opened.reverse(), START_CLEANUP_TIMEOUT_MS, logger)
    throw err
  }
}

async function openGateway(settings: Settings, config: GatewayConfig, logger: Logger, opened: Closer[], link?: WorkerLink): Promise<RunningGateway> {
  const slices = config.slices.map((slice) => ({ id: slice.id, authority: slice.authority }))
  // A worker of `ficus start --workers` other than the first: it reads the embedded stores worker 1
  // writes, serves no admin API and writes event files of its own (`-w<rank>`).
  const follower = link !== undefined && link.rank > 1
  const store: AuthorityStore = settings.redisUrl
    ? new RedisAuthorityStore({
        url: settings.redisUrl,
        prefix: settings.redisPrefix,
        slices,
        instance: settings.instance,
        cacheFile: join(settings.dataDir, AUTHORITY_CACHE_FILE),
        logger,
      })
    : new FileAuthorityStore({
        file: join(settings.dataDir, AUTHORITY_FILE),
        auditFile: join(settings.dataDir, AUDIT_FILE),
        slices,
        instance: settings.instance,
        logger,
        follower,
      })
  // Registered before open: a Redis store has its clients connecting before open returns.
  opened.push(() => store.close())
  await store.open()
  if (link && store instanceof FileAuthorityStore) {
    // The embedded state has one writer, worker 1: each change it makes is announced to the others,
    // which read the files again (and look at them every second anyway, should a notice be lost).
    if (follower) link.onAuthorityChanged(() => void store.refresh())
    else store.onChange(() => link.authorityChanged())
  }
  const metrics = new Metrics(
    {
      slices: () => store.list().map((state) => ({ id: state.sliceId, modernShare: modernBasisPoints(state.authority) / 10_000, version: state.version })),
      store: () => store.status(),
    },
    settings.workerRank === undefined ? {} : { worker: settings.workerRank },
  )
  if (link) {
    link.serve('metrics', () => metrics.json())
    if (!follower) metrics.aggregateWith(() => link.otherMetrics())
  }
  for (const upstream of config.upstreams.values()) {
    if (upstream.tls && !upstream.tls.rejectUnauthorized)
      logger.warn(
        { upstream: upstream.name },
        'TLS certificate checks are OFF for this upstream (tls.insecureSkipVerify): anyone on the path can answer for it',
      )
  }
  const pools = new UpstreamPools(config.upstreams)
  opened.push(() => pools.close())
  const breakers = new CircuitBreakers(config.upstreams)
  opened.push(() => breakers.shutdown())
  const sinks = await openEventSinks({
    kafka: settings.kafka,
    dataDir: settings.dataDir,
    config,
    logger,
    durability: settings.events,
    fileSuffix: follower ? `-w${link.rank}` : '',
  })
  opened.push(() => sinks.close(Math.min(config.shutdownTimeoutMs, START_CLEANUP_TIMEOUT_MS)))
  // AuthorityChanged events of changes an earlier run committed but did not get on disk: published now.
  const journal = new ChangeJournal({ file: join(settings.dataDir, CHANGE_JOURNAL_FILE), sink: sinks.authorityChanges, logger })
  // Only the process that serves the admin API makes changes, and so keeps the journal.
  if (!follower) {
    await journal.recover(store)
    // A change whose reply was lost (Redis froze after running it) is settled once Redis answers again.
    opened.push(journal.settleEvery(store, JOURNAL_SETTLE_INTERVAL_MS))
  }
  // Readiness evidence: the reporter's aggregates (Kafka and Redis), else this instance's own comparisons.
  const reportStore = settings.kafka && settings.redisUrl ? new RedisReportStateStore(settings.redisUrl, settings.redisPrefix) : undefined
  if (reportStore) opened.push(() => reportStore.close())
  const local = reportStore ? undefined : new LocalEvidence()
  const readiness: EvidenceSource =
    reportStore && settings.kafka ? new ReporterEvidence(reportStore, settings.kafka.topics.comparisons) : (local as LocalEvidence)
  // Comparisons already on disk count too; duplicates (read and also written meanwhile) are dropped by event id.
  // With workers, each counts its own files and what it writes, and worker 1 adds up everyone's when it judges readiness.
  if (local && !settings.kafka)
    void local.load(join(settings.dataDir, COMPARISONS_DIR), link ? workerFiles(link.rank, settings.workerCount ?? link.rank) : undefined)
  if (local && link) {
    link.serve('evidence', () => Promise.resolve(local.snapshot()))
    if (!follower) local.mergeWith(() => link.otherEvidence())
  }
  // The discrepancy register and its triage: shared by every instance through Redis, else kept in the data directory.
  if (settings.redisUrl && settings.hashSalt === undefined)
    logger.warn(
      'FICUS_HASH_SALT is not set: each instance hashes data-derived path keys with its own salt, so instances sharing Redis record the same discrepancy under different signatures; set the same FICUS_HASH_SALT on every instance',
    )
  const stores = triageStores({ ...settings, readOnly: follower }, logger)
  const { triage } = stores
  // The embedded register has one writer too: the other workers send it their differing comparisons.
  const register = link ? sharedFileRegister(stores.register, link) : stores.register
  await register.open()
  opened.push(() => register.close())
  await triage.open()
  opened.push(() => triage.close())
  // Fed from the comparisons this instance writes — unless a reporter aggregates the comparisons
  // topic for every instance (Kafka and Redis): then it feeds the shared register, once per comparison.
  const comparisons = reportStore ? sinks.comparisons : feedRegister(register, sinks.comparisons)
  // Identity maps: file maps read whole now (a bad file refuses the start), Redis maps looked up live.
  const identity = await IdentityMaps.open({
    configs: config.identityMaps,
    redis: settings.redisUrl ? { url: settings.redisUrl, prefix: settings.redisPrefix } : undefined,
    onLookup: (map, result, cached) => metrics.recordIdentityLookup(map, result, cached),
  })
  opened.push(() => identity.close())
  // Captured pairs of slices with `capture`: refused without a key; written off the comparison path.
  const captures = await openCaptureStore({
    config,
    dataDir: settings.dataDir,
    kafka: settings.kafka,
    keys: settings.captureKeys,
    logger,
    metrics,
  })
  if (captures) opened.push(() => captures.close(Math.min(config.shutdownTimeoutMs, START_CLEANUP_TIMEOUT_MS)))
  const shadow = new ShadowRunner({
    ...(captures ? { captures } : {}),
    identity,
    config,
    pools,
    breakers,
    sink: local ? local.tee(comparisons) : comparisons,
    skips: local ? local.tee(sinks.shadowSkips) : sinks.shadowSkips,
    logger,
    instance: settings.instance,
    salt: await deploymentSalt(settings),
    metrics,
  })
  // Operators' noise decisions: shared through Redis when there is one, else in the data directory.
  const decisions: NoiseDecisionStore = settings.redisUrl
    ? new RedisNoiseDecisionStore({ url: settings.redisUrl, prefix: settings.redisPrefix, instance: settings.instance, logger })
    : new FileNoiseDecisionStore(join(settings.dataDir, NOISE_DECISIONS_FILE), settings.instance)
  const applyDecision = (record: NoiseDecisionRecord): void =>
    shadow.decideNoise(
      record.slice,
      record.route,
      record.path,
      record.decision === 'clear' ? null : { decision: record.decision, actor: record.actor, reason: record.reason, at: record.at },
    )
  if (link && !settings.redisUrl) {
    // Noise decisions are taken through worker 1's admin API; the other workers hear of each from it.
    if (follower) link.onRelay('decision', (payload) => applyDecision(payload as NoiseDecisionRecord))
    else decisions.onDecision((record) => link.relay('decision', record))
  }
  decisions.onDecision(applyDecision)
  opened.push(() => decisions.close())
  await decisions.open()
  for (const record of decisions.current()) applyDecision(record)
  // The regression alarm of slices that moved: their agreement with legacy, checked against their drift rule.
  const stopDrift = watchDrift({ config, evidence: readiness, authorityOf: (id) => store.get(id), metrics, logger, intervalMs: settings.driftCheckIntervalMs })
  opened.push(stopDrift)
  metrics.attach({
    shadowDepth: () => shadow.depth,
    shadowSkips: () => shadow.skipTotals(),
    breakers: () => breakers.states(),
    sink: () => ({ ...sinks.status(), counters: sinks.counters() }),
  })
  const releaseAll = async (): Promise<void> => {
    stopDrift()
    // After the last comparisons were judged (shadow.drain): their pairs are queued, and written now.
    await captures?.close(config.shutdownTimeoutMs)
    await sinks.close(config.shutdownTimeoutMs)
    await register.close()
    await triage.close()
    await reportStore?.close()
    await decisions.close()
    await identity.close()
    await pools.close()
    breakers.shutdown()
    await store.close()
  }
  let serving = false
  const app = await buildGateway(config, { authority: store, logger, metrics, pools, breakers, shadow, identity })
  opened.push(() => app.close())
  const admin = await buildAdminServer({
    config,
    store,
    metrics,
    logger,
    breakers,
    sinks,
    readiness,
    shadow,
    decisions,
    register,
    triage,
    journal,
    token: settings.adminToken,
    allowedHosts: settings.adminHosts,
    // With workers, ready only while every worker is.
    ready: () => serving && (link === undefined || link.workers().every((worker) => worker.ready)),
  })
  opened.push(() => admin.close())
  const url = await listen(app, settings.host, settings.port, 'PORT')
  const adminUrl = follower ? '' : await listen(admin, settings.adminHost, settings.adminPort, 'ADMIN_PORT')
  serving = true
  link?.listening(url, adminUrl)
  logger.info(
    {
      url,
      adminUrl,
      migration: config.name,
      config: config.version,
      slices: config.slices.length,
      store: store.kind,
      dataDir: settings.dataDir,
      instance: settings.instance,
      v8Pretenuring: !heapTunedForRequests(),
      ...(link ? { worker: link.rank } : {}),
    },
    'gateway listening',
  )
  if (follower) {
    // The admin API and its warnings are worker 1's.
  } else if (settings.adminToken === undefined) {
    logger.warn({ adminUrl }, 'FICUS_ADMIN_TOKEN is not set: the admin API accepts unauthenticated requests and listens on loopback only')
  } else if (settings.adminToken.length < MIN_TOKEN_LENGTH) {
    logger.warn({ minLength: MIN_TOKEN_LENGTH }, 'FICUS_ADMIN_TOKEN is short; use a long random token')
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      serving = false
      // In-flight requests get shutdownTimeoutMs to finish; then their connections are cut.
      const deadline = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing connections still in flight')
        app.server.closeAllConnections()
      }, config.shutdownTimeoutMs)
      try {
        await app.close()
        // Comparisons of the last requests are finished and written before the sink closes.
        await shadow.drain(config.shutdownTimeoutMs)
      } finally {
        clearTimeout(deadline)
        await admin.close()
        await releaseAll()
      }
      logger.info('gateway stopped')
    })()
    return closing
  }
  return { app, admin, config, store, logger, metrics, triage: { register, triage }, url, adminUrl, close }
}

/** Runs the closers one after another; gives up waiting after timeoutMs (the process exits anyway). */
async function closeWithin(closers: readonly Closer[], timeoutMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const all = (async () => {
    for (const close of closers) {
      try {
        await close()
      } catch (err) {
        logger.warn({ err }, 'closing after a failed start failed')
      }
    }
  })()
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ timeoutMs }, 'closing after a failed start took too long; giving up')
      resolve()
    }, timeoutMs)
  })
  try {
    await Promise.race([all, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Listens and returns the URL to reach the server at; FICUS_ERR_LISTEN names the variable to change. */
async function listen(app: FastifyInstance, host: string, port: number, variable: 'PORT' | 'ADMIN_PORT'): Promise<string> {
  try {
    await app.listen({ port, host })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const hostVariable = variable === 'PORT' ? 'HOST' : 'ADMIN_HOST'
    const hint =
      code === 'EADDRINUSE'
        ? ` is in use; set ${variable} to another port`
        : code === 'EACCES'
          ? `: permission denied (ports below 1024 need privileges); set ${variable} to another port`
          : `: ${(err as Error).message} (check ${hostVariable} and ${variable})`
    throw fail.listen(`${host}:${port}${hint}`, { cause: err })
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  const shown = host === '0.0.0.0' || host === '::' ? LOOPBACK : host
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`
}
