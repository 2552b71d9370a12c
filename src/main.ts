import { isIPv6 } from 'node:net'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { LOOPBACK_HOSTS } from './admin/admin-guard.ts'
import { buildAdminServer } from './admin/admin-server.ts'
import type { AuthorityStore } from './authority/authority-store.ts'
import { ChangeJournal } from './authority/change-journal.ts'
import { FileAuthorityStore } from './authority/file-authority-store.ts'
import { DEFAULT_REDIS_PREFIX, RedisAuthorityStore } from './authority/redis-authority-store.ts'
import { modernBasisPoints } from './config/authority-value.ts'
import { DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_TIMEOUT_MS, loadConfig } from './config/load.ts'
import type { GatewayConfig } from './config/types.ts'
import { FileNoiseDecisionStore, type NoiseDecisionStore } from './decisions/noise-decisions.ts'
import { RedisNoiseDecisionStore } from './decisions/redis-noise-decisions.ts'
import { loadSalt, prepareDataDir } from './data-dir.ts'
import { FicusError, isFicusError } from './errors.ts'
import { buildGateway } from './gateway.ts'
import { createLogger, LOG_LEVELS, type LogLevel } from './observability/logger.ts'
import { Metrics } from './observability/metrics.ts'
import { readEventDurability, type EventDurability } from './publish/event-durability.ts'
import { openEventSinks, type KafkaSettings } from './publish/event-sinks.ts'
import { DEFAULT_TOPICS } from './publish/events.ts'
import { LocalAggregates, ReporterAggregates, type ReadinessSource } from './report/readiness-source.ts'
import { RedisReportStateStore } from './report/report-state.ts'
import { ShadowRunner } from './shadow/shadow-runner.ts'
import { CircuitBreakers } from './upstream/circuit-breakers.ts'
import { UpstreamPools } from './upstream/upstream-pools.ts'

export const DEFAULT_PORT = 8080
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_ADMIN_PORT = 9090
export const LOOPBACK = '127.0.0.1'
export const DEFAULT_DATA_DIR = './data'
export const AUTHORITY_FILE = 'authority.json'
export const AUDIT_FILE = 'audit.jsonl'
import { COMPARISONS_DIR } from './publish/event-sinks.ts'
export { COMPARISONS_DIR }
export { HASH_SALT_FILE } from './data-dir.ts'
/** With Redis, the last snapshot seen, to start from when Redis is unreachable at start. */
export const AUTHORITY_CACHE_FILE = 'authority-cache.json'
export const NOISE_DECISIONS_FILE = 'noise-decisions.jsonl'
/** Authority changes in progress, until their AuthorityChanged events are on disk (src/authority/change-journal.ts). */
export const CHANGE_JOURNAL_FILE = 'authority-journal.jsonl'
const MIN_TOKEN_LENGTH = 16
/** The longest delay setTimeout honours; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647
/** How long closing what a failed start had opened may take before the failure is reported anyway. */
export const START_CLEANUP_TIMEOUT_MS = 5_000

/** Everything the process takes from its environment, read in one place. */
export interface Settings {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  readonly prettyLogs: boolean
  readonly configFile: string
  /** How long importing the config may take (FICUS_CONFIG_TIMEOUT_MS). */
  readonly configTimeoutMs: number
  readonly dataDir: string
  readonly instance: string
  readonly adminPort: number
  /** Where the admin API listens; loopback whenever no admin token is configured. */
  readonly adminHost: string
  readonly adminToken: string | undefined
  /** Host names the admin port answers; null: any (with a token and no FICUS_ADMIN_HOSTS). */
  readonly adminHosts: readonly string[] | null
  readonly redisUrl: string | undefined
  readonly redisPrefix: string
  /** Secret salt of value hashes in comparisons; read from the data directory when not given. */
  readonly hashSalt: string | undefined
  /** Publish to Kafka (KAFKA_BROKERS); JSONL files in the data directory otherwise. */
  readonly kafka: KafkaSettings | undefined
  /** FICUS_EVENTS_DURABILITY, FICUS_EVENTS_FLUSH_MS, FICUS_EVENTS_FLUSH_RECORDS: how long comparisons may stay in memory only. */
  readonly events: EventDurability
}

function envError(name: string, message: string, value: string): FicusError {
  return new FicusError('FICUS_ERR_ENV_INVALID', `${name}: ${message} (got ${JSON.stringify(value)})`, { details: { variable: name } })
}

/** Reads the environment; throws FICUS_ERR_ENV_INVALID naming the variable at fault. */
export function readSettings(env: NodeJS.ProcessEnv, options: { isTTY: boolean; cwd?: string }): Settings {
  const cwd = options.cwd ?? process.cwd()
  const port = readPort(env, 'PORT', DEFAULT_PORT)
  const adminPort = readPort(env, 'ADMIN_PORT', DEFAULT_ADMIN_PORT)
  const adminToken = env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN
  const redisUrl = env.REDIS_URL === '' ? undefined : env.REDIS_URL
  if (redisUrl !== undefined && !(/^rediss?:\/\//.test(redisUrl) && URL.canParse(redisUrl))) throw envError('REDIS_URL', 'must be a redis:// or rediss:// URL', redisUrl.replace(/\/\/[^@/]*@/, '//***@'))
  const level = readLogLevel(env)
  const instance = env.FICUS_INSTANCE_ID ?? `${hostname()}-${process.pid}`
  if (!/^[\w.:-]{1,128}$/.test(instance)) throw envError('FICUS_INSTANCE_ID', 'must be letters, digits, ".", ":", "_" or "-" (at most 128)', instance)
  return {
    port,
    host: env.HOST ?? DEFAULT_HOST,
    logLevel: level,
    prettyLogs: options.isTTY && env.CI !== 'true',
    configFile: resolve(cwd, env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE),
    configTimeoutMs: readConfigTimeout(env),
    dataDir: resolve(cwd, env.FICUS_DATA_DIR ?? DEFAULT_DATA_DIR),
    instance,
    adminPort,
    adminHost: adminToken === undefined ? LOOPBACK : (env.ADMIN_HOST ?? DEFAULT_HOST),
    adminToken,
    adminHosts: readAdminHosts(env, adminToken),
    events: readEventDurability(env),
    redisUrl,
    redisPrefix: env.FICUS_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    hashSalt: env.FICUS_HASH_SALT === '' ? undefined : env.FICUS_HASH_SALT,
    kafka: readKafka(env, instance),
  }
}

/** KAFKA_BROKERS as a list (empty when unset); FICUS_ERR_ENV_INVALID when an entry is not host:port. */
export function readBrokers(env: NodeJS.ProcessEnv): string[] {
  const list = env.KAFKA_BROKERS?.trim() ?? ''
  const brokers = list.split(',').map((broker) => broker.trim()).filter((broker) => broker !== '')
  for (const broker of brokers) {
    const port = Number(/^[\w.-]+:(\d{1,5})$/.exec(broker)?.[1] ?? Number.NaN)
    if (!(port >= 1 && port <= 65_535)) throw envError('KAFKA_BROKERS', 'must be host:port[,host:port...]', list)
  }
  return brokers
}

function readKafka(env: NodeJS.ProcessEnv, instance: string): KafkaSettings | undefined {
  const brokers = readBrokers(env)
  if (brokers.length === 0) return undefined
  const positive = (name: string, allowMinusOne = false): number | undefined => {
    const text = env[name]
    if (text === undefined || text === '') return undefined
    const value = Number(text)
    if (!Number.isInteger(value) || (value < 1 && !(allowMinusOne && value === -1))) throw envError(name, `must be a whole number ≥ 1${allowMinusOne ? ' (or -1 for the broker default)' : ''}`, text)
    return value
  }
  return {
    brokers,
    clientId: env.KAFKA_CLIENT_ID ?? `ficus-${instance}`,
    topics: { comparisons: env.FICUS_TOPIC_COMPARISONS ?? DEFAULT_TOPICS.comparisons, 'authority-changes': env.FICUS_TOPIC_AUTHORITY_CHANGES ?? DEFAULT_TOPICS['authority-changes'] },
    partitions: positive('KAFKA_TOPIC_PARTITIONS'),
    replicationFactor: positive('KAFKA_TOPIC_REPLICATION', true),
    outboxMaxBytes: positive('FICUS_OUTBOX_MAX_BYTES'),
  }
}

/** FICUS_CONFIG_TIMEOUT_MS (default 10 s): how long importing the routes config may take. */
export function readConfigTimeout(env: NodeJS.ProcessEnv): number {
  const text = env.FICUS_CONFIG_TIMEOUT_MS
  if (text === undefined || text === '') return DEFAULT_CONFIG_TIMEOUT_MS
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || value > MAX_TIMER_MS) throw envError('FICUS_CONFIG_TIMEOUT_MS', `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`, text)
  return value
}

/** LOG_LEVEL (default info, any case); FICUS_ERR_ENV_INVALID when it is not a pino level. */
export function readLogLevel(env: NodeJS.ProcessEnv): LogLevel {
  const level = (env.LOG_LEVEL ?? 'info').toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw envError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`, level)
  return level as LogLevel
}

/** A DNS name (underscores allowed, as in container service names) or an IPv4 address. */
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i

/**
 * FICUS_ADMIN_HOSTS (comma-separated names), loopback names only without a token, else any. An
 * entry with a scheme, port, path or wildcard would never match a Host header: refused at start.
 */
function readAdminHosts(env: NodeJS.ProcessEnv, token: string | undefined): readonly string[] | null {
  const listed = (env.FICUS_ADMIN_HOSTS ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of listed) {
    const bracketed = /^\[(.*)\]$/.exec(name)?.[1]
    if (!(HOST_NAME.test(name) || isIPv6(bracketed ?? name))) throw envError('FICUS_ADMIN_HOSTS', 'must be host names or IP addresses, comma-separated, without scheme, port or path', env.FICUS_ADMIN_HOSTS ?? '')
  }
  if (token === undefined) return LOOPBACK_HOSTS
  return listed.length === 0 ? null : [...LOOPBACK_HOSTS, ...listed]
}

/** A port from the variable `name` (fallback when unset); FICUS_ERR_ENV_INVALID outside 0–65535. */
export function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name] ?? String(fallback)
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65_535) throw envError(name, 'must be a whole number from 0 to 65535', text)
  return port
}

export interface RunningGateway {
  readonly app: FastifyInstance
  readonly admin: FastifyInstance
  readonly config: GatewayConfig
  readonly store: AuthorityStore
  readonly logger: Logger
  readonly metrics: Metrics
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
export async function startGateway(settings: Settings, options: { logger?: Logger; config?: GatewayConfig } = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel, pretty: settings.prettyLogs })
  const config = options.config ?? (await loadConfig(settings.configFile, undefined, { timeoutMs: settings.configTimeoutMs }))
  await prepareDataDir(settings)
  const opened: Closer[] = []
  try {
    return await openGateway(settings, config, logger, opened)
  } catch (err) {
    // The CLI prints one line; the stack of a failure nobody planned for goes to the log.
    if (!isFicusError(err)) logger.error({ err }, 'start failed')
    await closeWithin(opened.reverse(), START_CLEANUP_TIMEOUT_MS, logger)
    throw err
  }
}

async function openGateway(settings: Settings, config: GatewayConfig, logger: Logger, opened: Closer[]): Promise<RunningGateway> {
  const slices = config.slices.map((slice) => ({ id: slice.id, authority: slice.authority }))
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
      })
  // Registered before open: a Redis store has its clients connecting before open returns.
  opened.push(() => store.close())
  await store.open()
  const metrics = new Metrics({
    slices: () => store.list().map((state) => ({ id: state.sliceId, modernShare: modernBasisPoints(state.authority) / 10_000, version: state.version })),
    store: () => store.status(),
  })
  for (const upstream of config.upstreams.values()) {
    if (upstream.tls && !upstream.tls.rejectUnauthorized) logger.warn({ upstream: upstream.name }, 'TLS certificate checks are OFF for this upstream (tls.insecureSkipVerify): anyone on the path can answer for it')
  }
  const pools = new UpstreamPools(config.upstreams)
  opened.push(() => pools.close())
  const breakers = new CircuitBreakers(config.upstreams)
  opened.push(() => breakers.shutdown())
  const sinks = await openEventSinks({ kafka: settings.kafka, dataDir: settings.dataDir, config, logger, durability: settings.events })
  opened.push(() => sinks.close(Math.min(config.shutdownTimeoutMs, START_CLEANUP_TIMEOUT_MS)))
  // AuthorityChanged events of changes an earlier run committed but did not get on disk: published now.
  const journal = new ChangeJournal({ file: join(settings.dataDir, CHANGE_JOURNAL_FILE), sink: sinks.authorityChanges, logger })
  await journal.recover(store)
  // Readiness evidence: the reporter's aggregates (Kafka and Redis), else this instance's own comparisons.
  const reportStore = settings.kafka && settings.redisUrl ? new RedisReportStateStore(settings.redisUrl, settings.redisPrefix) : undefined
  if (reportStore) opened.push(() => reportStore.close())
  const local = reportStore ? undefined : new LocalAggregates()
  const readiness: ReadinessSource = reportStore && settings.kafka ? new ReporterAggregates(reportStore, settings.kafka.topics.comparisons) : (local as LocalAggregates)
  // Comparisons already on disk count too; duplicates (read and also written meanwhile) are dropped by event id.
  if (local && !settings.kafka) void local.load(join(settings.dataDir, COMPARISONS_DIR))
  const shadow = new ShadowRunner({ config, pools, breakers, sink: local ? local.tee(sinks.comparisons) : sinks.comparisons, logger, instance: settings.instance, salt: settings.hashSalt ?? (await loadSalt(settings.dataDir)), metrics })
  // Operators' noise decisions: shared through Redis when there is one, else in the data directory.
  const decisions: NoiseDecisionStore = settings.redisUrl
    ? new RedisNoiseDecisionStore({ url: settings.redisUrl, prefix: settings.redisPrefix, instance: settings.instance, logger })
    : new FileNoiseDecisionStore(join(settings.dataDir, NOISE_DECISIONS_FILE), settings.instance)
  decisions.onDecision((record) => shadow.decideNoise(record.slice, record.route, record.path, record.decision === 'clear' ? null : { decision: record.decision, actor: record.actor, reason: record.reason, at: record.at }))
  opened.push(() => decisions.close())
  await decisions.open()
  for (const record of decisions.current()) shadow.decideNoise(record.slice, record.route, record.path, record.decision === 'clear' ? null : { decision: record.decision, actor: record.actor, reason: record.reason, at: record.at })
  metrics.attach({ shadowDepth: () => shadow.depth, breakers: () => breakers.states(), sink: () => ({ ...sinks.status(), counters: sinks.counters() }) })
  const releaseAll = async (): Promise<void> => {
    await sinks.close(config.shutdownTimeoutMs)
    await reportStore?.close()
    await decisions.close()
    await pools.close()
    breakers.shutdown()
    await store.close()
  }
  let serving = false
  const app = await buildGateway(config, { authority: store, logger, metrics, pools, breakers, shadow })
  opened.push(() => app.close())
  const admin = await buildAdminServer({ config, store, metrics, logger, breakers, sinks, readiness, shadow, decisions, journal, token: settings.adminToken, allowedHosts: settings.adminHosts, ready: () => serving })
  opened.push(() => admin.close())
  const url = await listen(app, settings.host, settings.port, 'PORT')
  const adminUrl = await listen(admin, settings.adminHost, settings.adminPort, 'ADMIN_PORT')
  serving = true
  logger.info(
    { url, adminUrl, migration: config.name, config: config.version, slices: config.slices.length, store: store.kind, dataDir: settings.dataDir, instance: settings.instance },
    'gateway listening',
  )
  if (settings.adminToken === undefined) {
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
  return { app, admin, config, store, logger, metrics, url, adminUrl, close }
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
    throw new FicusError('FICUS_ERR_LISTEN', `${host}:${port}${hint}`, { cause: err })
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  const shown = host === '0.0.0.0' || host === '::' ? LOOPBACK : host
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`
}
