import { isIPv6 } from 'node:net'
import { hostname, userInfo } from 'node:os'
import { resolve } from 'node:path'
import { DEFAULT_ADMIN_URL } from '../admin/admin-client.ts'
import { LOOPBACK_HOSTS } from '../admin/admin-guard.ts'
import { DEFAULT_REDIS_PREFIX } from '../authority/redis-authority-store.ts'
import { DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_TIMEOUT_MS } from '../config/load.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { LOG_LEVELS, type LogLevel } from '../observability/logger.ts'
import {
  DEFAULT_EVENTS_FLUSH_MS,
  DEFAULT_EVENTS_FLUSH_RECORDS,
  DURABILITY_MODES,
  type DurabilityMode,
  type EventDurability,
} from '../publish/event-durability.ts'
import { DEFAULT_TOPICS } from '../publish/events.ts'
import { DEFAULT_CAPTURES_TOPIC, type KafkaSettings } from '../publish/open-sinks.ts'
import { CAPTURE_KEYS_ENV, parseCaptureKeys, type CaptureKeys } from '../capture/capture-keys.ts'

// The one reader of the environment: every command takes what it needs from here, checked, with
// FICUS_ERR_ENV_INVALID naming the variable at fault. Nothing else in src/ reads process.env.

export const DEFAULT_PORT = 8080
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_ADMIN_PORT = 9090
export const LOOPBACK = '127.0.0.1'
export const DEFAULT_DATA_DIR = './data'
export const MIN_TOKEN_LENGTH = 16
/** The longest delay setTimeout honours; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647
const DEFAULT_DRIFT_CHECK_INTERVAL_MS = 30_000

/** Everything the process takes from its environment, read in one place. */
export interface Settings {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  readonly prettyLogs: boolean
  readonly configFile: string
  /** How long importing the config may take (FICUS_CONFIG_TIMEOUT_MS). */
  readonly configTimeoutMs: number
  /** How often the drift alarm of slices that moved is checked (FICUS_DRIFT_CHECK_INTERVAL_MS). */
  readonly driftCheckIntervalMs: number
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
  /**
   * FICUS_CAPTURE_KEYS, parsed (FICUS_ERR_CAPTURE_KEY_INVALID when malformed); undefined when unset —
   * the start then refuses if a slice captures (FICUS_ERR_CAPTURE_KEY_MISSING).
   */
  readonly captureKeys: CaptureKeys | undefined
  /**
   * Set by `ficus start --workers N` in each process it forks (FICUS_WORKER_RANK, 1 … N): the
   * worker's rank. Undefined in a gateway of one process. Rank 1 serves the admin API and writes
   * the embedded stores; ranks above 1 write their own event files (`-w<rank>`).
   */
  readonly workerRank: number | undefined
  /** With workerRank: how many workers the primary runs (FICUS_WORKER_COUNT). */
  readonly workerCount: number | undefined
  /** FICUS_V8_PRETENURING=on keeps V8's allocation-site pretenuring, which `ficus start` turns off by default (app/gc-tuning.ts). */
  readonly v8Pretenuring: boolean
}

/** The variable `ficus start --workers` sets in each worker it forks (not for operators to set). */
export const WORKER_RANK_ENV = 'FICUS_WORKER_RANK'
export const WORKER_COUNT_ENV = 'FICUS_WORKER_COUNT'

function envError(name: string, message: string, value: string): FicusError {
  return fail.envInvalid(`${name}: ${message} (got ${JSON.stringify(value)})`, { details: { variable: name } })
}

/** An `on` / `off` variable; unset or empty: the default. */
function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name]
  if (value === undefined || value === '') return fallback
  if (value !== 'on' && value !== 'off') throw envError(name, 'must be on or off', value)
  return value === 'on'
}

/** Reads the environment; throws FICUS_ERR_ENV_INVALID naming the variable at fault. */
export function readSettings(env: NodeJS.ProcessEnv, options: { isTTY: boolean; cwd?: string }): Settings {
  const cwd = options.cwd ?? process.cwd()
  const port = readPort(env, 'PORT', DEFAULT_PORT)
  const adminPort = readPort(env, 'ADMIN_PORT', DEFAULT_ADMIN_PORT)
  const adminToken = env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN
  const redisUrl = env.REDIS_URL === '' ? undefined : env.REDIS_URL
  if (redisUrl !== undefined && !(/^rediss?:\/\//.test(redisUrl) && URL.canParse(redisUrl)))
    throw envError('REDIS_URL', 'must be a redis:// or rediss:// URL', redisUrl.replace(/\/\/[^@/]*@/, '//***@'))
  const level = readLogLevel(env)
  const workerRank = readWorkerRank(env)
  // Each worker is an instance of its own in events, logs and Kafka client ids.
  const instance = workerRank === undefined ? readInstance(env) : `${readInstance(env)}-w${workerRank}`
  return {
    port,
    host: env.HOST ?? DEFAULT_HOST,
    logLevel: level,
    prettyLogs: options.isTTY && env.CI !== 'true',
    configFile: resolve(cwd, env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE),
    configTimeoutMs: readConfigTimeout(env),
    driftCheckIntervalMs: readMilliseconds(env, 'FICUS_DRIFT_CHECK_INTERVAL_MS', DEFAULT_DRIFT_CHECK_INTERVAL_MS),
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
    kafka: readKafkaSettings(env, instance),
    captureKeys: env[CAPTURE_KEYS_ENV] === undefined || env[CAPTURE_KEYS_ENV].trim() === '' ? undefined : parseCaptureKeys(env[CAPTURE_KEYS_ENV]),
    workerRank,
    workerCount: workerRank === undefined ? undefined : readWorkerNumber(env, WORKER_COUNT_ENV),
    v8Pretenuring: onOff(env, 'FICUS_V8_PRETENURING', false),
  }
}

function readWorkerRank(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[WORKER_RANK_ENV]
  if (text === undefined || text === '') return undefined
  return readWorkerNumber(env, WORKER_RANK_ENV)
}

function readWorkerNumber(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name] ?? ''
  if (!/^[1-9]\d{0,2}$/.test(text)) throw envError(name, 'is set by ficus start --workers in its workers: a whole number ≥ 1', text)
  return Number(text)
}

/** FICUS_INSTANCE_ID, or `<host>-<pid>`: names this process in events, logs and Kafka client ids. */
function readInstance(env: NodeJS.ProcessEnv): string {
  const instance = env.FICUS_INSTANCE_ID ?? `${hostname()}-${process.pid}`
  if (!/^[\w.:-]{1,128}$/.test(instance)) throw envError('FICUS_INSTANCE_ID', 'must be letters, digits, ".", ":", "_" or "-" (at most 128)', instance)
  return instance
}

/** KAFKA_BROKERS as a list (empty when unset); FICUS_ERR_ENV_INVALID when an entry is not host:port. */
export function readBrokers(env: NodeJS.ProcessEnv): string[] {
  const list = env.KAFKA_BROKERS?.trim() ?? ''
  const brokers = list
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '')
  for (const broker of brokers) {
    const port = Number(/^[\w.-]+:(\d{1,5})$/.exec(broker)?.[1] ?? Number.NaN)
    if (!(port >= 1 && port <= 65_535)) throw envError('KAFKA_BROKERS', 'must be host:port[,host:port...]', list)
  }
  return brokers
}

function readKafkaSettings(env: NodeJS.ProcessEnv, instance: string): KafkaSettings | undefined {
  const brokers = readBrokers(env)
  if (brokers.length === 0) return undefined
  const positive = (name: string, allowMinusOne = false): number | undefined => {
    const text = env[name]
    if (text === undefined || text === '') return undefined
    const value = Number(text)
    if (!Number.isInteger(value) || (value < 1 && !(allowMinusOne && value === -1)))
      throw envError(name, `must be a whole number ≥ 1${allowMinusOne ? ' (or -1 for the broker default)' : ''}`, text)
    return value
  }
  return {
    brokers,
    clientId: env.KAFKA_CLIENT_ID ?? `ficus-${instance}`,
    topics: {
      comparisons: env.FICUS_TOPIC_COMPARISONS ?? DEFAULT_TOPICS.comparisons,
      'authority-changes': env.FICUS_TOPIC_AUTHORITY_CHANGES ?? DEFAULT_TOPICS['authority-changes'],
      'triage-actions': env.FICUS_TOPIC_TRIAGE_ACTIONS ?? DEFAULT_TOPICS['triage-actions'],
    },
    partitions: positive('KAFKA_TOPIC_PARTITIONS'),
    replicationFactor: positive('KAFKA_TOPIC_REPLICATION', true),
    outboxMaxBytes: positive('FICUS_OUTBOX_MAX_BYTES'),
    capturesTopic: env.FICUS_TOPIC_CAPTURES === undefined || env.FICUS_TOPIC_CAPTURES === '' ? DEFAULT_CAPTURES_TOPIC : env.FICUS_TOPIC_CAPTURES,
  }
}

/** FICUS_CONFIG_TIMEOUT_MS (default 10 s): how long importing the routes config may take. */
export function readConfigTimeout(env: NodeJS.ProcessEnv): number {
  return readMilliseconds(env, 'FICUS_CONFIG_TIMEOUT_MS', DEFAULT_CONFIG_TIMEOUT_MS)
}

/** A whole number of milliseconds from 1 to the longest timer, or the default when unset. */
function readMilliseconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || value > MAX_TIMER_MS) throw envError(name, `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`, text)
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
  const listed = (env.FICUS_ADMIN_HOSTS ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  for (const name of listed) {
    const bracketed = /^\[(.*)\]$/.exec(name)?.[1]
    if (!(HOST_NAME.test(name) || isIPv6(bracketed ?? name)))
      throw envError('FICUS_ADMIN_HOSTS', 'must be host names or IP addresses, comma-separated, without scheme, port or path', env.FICUS_ADMIN_HOSTS ?? '')
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

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || !Number.isSafeInteger(value)) throw envError(name, 'must be a whole number ≥ 1', text)
  return value
}

/**
 * FICUS_EVENTS_DURABILITY (`buffered` | `write-ahead`), FICUS_EVENTS_FLUSH_MS and
 * FICUS_EVENTS_FLUSH_RECORDS; FICUS_ERR_ENV_INVALID names the variable at fault.
 */
export function readEventDurability(env: NodeJS.ProcessEnv): EventDurability {
  const mode = env.FICUS_EVENTS_DURABILITY === undefined || env.FICUS_EVENTS_DURABILITY === '' ? 'buffered' : env.FICUS_EVENTS_DURABILITY
  if (!(DURABILITY_MODES as readonly string[]).includes(mode)) throw envError('FICUS_EVENTS_DURABILITY', `must be one of ${DURABILITY_MODES.join(', ')}`, mode)
  return Object.freeze({
    mode: mode as DurabilityMode,
    flushMs: wholeNumber(env, 'FICUS_EVENTS_FLUSH_MS', DEFAULT_EVENTS_FLUSH_MS),
    flushRecords: wholeNumber(env, 'FICUS_EVENTS_FLUSH_RECORDS', DEFAULT_EVENTS_FLUSH_RECORDS),
  })
}

/** The routes config a command reads when none is named on its command line: FICUS_CONFIG, else ./routes.config.ts. */
export function configFileSetting(env: NodeJS.ProcessEnv): string {
  return env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE
}

/** What the admin commands of the CLI need: where the admin API is, its token, and who is asking. */
export interface AdminClientSettings {
  readonly baseUrl: string
  readonly token: string | undefined
  /** FICUS_ACTOR, else `user@host`: who the audit trail names. */
  readonly actor: string
}

export function readAdminClientSettings(env: NodeJS.ProcessEnv, adminUrl?: string): AdminClientSettings {
  return {
    baseUrl: adminUrl ?? env.FICUS_ADMIN_URL ?? DEFAULT_ADMIN_URL,
    token: env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN,
    actor: defaultActor(env),
  }
}

function defaultActor(env: NodeJS.ProcessEnv): string {
  if (env.FICUS_ACTOR !== undefined && env.FICUS_ACTOR.trim() !== '') return env.FICUS_ACTOR
  let user = env.USER ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${hostname()}`
}

/** What `ficus report` takes from its environment. */
export interface ReportSettings {
  readonly brokers: readonly string[]
  readonly topic: string
  readonly dataDir: string
  readonly configFile: string
  /** A running gateway's admin API, for the HTML report's live authority (FICUS_ADMIN_URL); undefined: none. */
  readonly adminUrl: string | undefined
  readonly adminToken: string | undefined
  /** The shared discrepancy register and triage (REDIS_URL); undefined: the data directory's. */
  readonly redisUrl: string | undefined
  readonly redisPrefix: string
}

export function readReportSettings(env: NodeJS.ProcessEnv): ReportSettings {
  return {
    redisUrl: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
    redisPrefix: env.FICUS_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    brokers: readBrokers(env),
    topic: env.FICUS_TOPIC_COMPARISONS ?? DEFAULT_TOPICS.comparisons,
    dataDir: env.FICUS_DATA_DIR ?? DEFAULT_DATA_DIR,
    configFile: configFileSetting(env),
    adminUrl: env.FICUS_ADMIN_URL === '' ? undefined : env.FICUS_ADMIN_URL,
    adminToken: env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN,
  }
}

export const DEFAULT_REPORTER_PORT = 9091

/** What `ficus reporter` takes from its environment. */
export interface ReporterSettings {
  readonly brokers: readonly string[]
  readonly topic: string
  readonly groupId: string | undefined
  readonly logLevel: LogLevel
  readonly prettyLogs: boolean
  readonly port: number
  /** Loopback without a token (REPORTER_HOST otherwise, default 0.0.0.0). */
  readonly host: string
  readonly token: string | undefined
  readonly redisUrl: string | undefined
  readonly redisPrefix: string
  readonly configFile: string
  /** FICUS_INSTANCE_ID (else `<host>-<pid>`): the Kafka client id is `ficus-reporter-<instance>`. */
  readonly instance: string
  /** FICUS_REPORTER_STALL_MS: no batch and no heartbeat this long (in its group, idle or not) makes the reporter unhealthy. */
  readonly stallMs: number
  /** FICUS_REPORTER_MAX_RESTARTS: consumer restarts in a row before the reporter stays unhealthy (0: never restart). */
  readonly maxRestarts: number
}

export const DEFAULT_REPORTER_STALL_MS = 30_000
export const DEFAULT_REPORTER_MAX_RESTARTS = 5

export function readReporterSettings(env: NodeJS.ProcessEnv, options: { isTTY: boolean }): ReporterSettings {
  const brokers = readBrokers(env)
  if (brokers.length === 0)
    throw fail.envInvalid('KAFKA_BROKERS: the reporter reads comparisons from Kafka and needs it (got nothing)', { details: { variable: 'KAFKA_BROKERS' } })
  const token = env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN
  return {
    brokers,
    topic: env.FICUS_TOPIC_COMPARISONS ?? DEFAULT_TOPICS.comparisons,
    groupId: env.FICUS_REPORTER_GROUP === '' ? undefined : env.FICUS_REPORTER_GROUP,
    logLevel: readLogLevel(env),
    prettyLogs: options.isTTY && env.CI !== 'true',
    port: readPort(env, 'REPORTER_PORT', DEFAULT_REPORTER_PORT),
    host: token === undefined ? LOOPBACK : (env.REPORTER_HOST ?? DEFAULT_HOST),
    token,
    redisUrl: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
    redisPrefix: env.FICUS_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    configFile: configFileSetting(env),
    instance: readInstance(env),
    stallMs: readMilliseconds(env, 'FICUS_REPORTER_STALL_MS', DEFAULT_REPORTER_STALL_MS),
    maxRestarts: readCount(env, 'FICUS_REPORTER_MAX_RESTARTS', DEFAULT_REPORTER_MAX_RESTARTS),
  }
}

/** A whole number from 0, or the default when unset. */
function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw envError(name, 'must be a whole number ≥ 0', text)
  return value
}
