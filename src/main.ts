import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { AuthorityStore } from './authority/authority-store.ts'
import { FileAuthorityStore } from './authority/file-authority-store.ts'
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load.ts'
import type { GatewayConfig } from './config/types.ts'
import { FicusError } from './errors.ts'
import { buildGateway } from './gateway.ts'
import { createLogger, LOG_LEVELS, type LogLevel } from './observability/logger.ts'

export const DEFAULT_PORT = 8080
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_DATA_DIR = './data'
export const AUTHORITY_FILE = 'authority.json'

/** Everything the process takes from its environment, read in one place. */
export interface Settings {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  readonly prettyLogs: boolean
  readonly configFile: string
  readonly dataDir: string
  readonly instance: string
}

function envError(name: string, message: string, value: string): FicusError {
  return new FicusError('FICUS_ERR_ENV_INVALID', `${name}: ${message} (got ${JSON.stringify(value)})`, { details: { variable: name } })
}

/** Reads the environment; throws FICUS_ERR_ENV_INVALID naming the variable at fault. */
export function readSettings(env: NodeJS.ProcessEnv, options: { isTTY: boolean; cwd?: string }): Settings {
  const cwd = options.cwd ?? process.cwd()
  const portText = env.PORT ?? String(DEFAULT_PORT)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65_535) throw envError('PORT', 'must be a whole number from 0 to 65535', portText)
  const level = (env.LOG_LEVEL ?? 'info').toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw envError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`, level)
  const instance = env.FICUS_INSTANCE_ID ?? `${hostname()}-${process.pid}`
  if (!/^[\w.:-]{1,128}$/.test(instance)) throw envError('FICUS_INSTANCE_ID', 'must be letters, digits, ".", ":", "_" or "-" (at most 128)', instance)
  return {
    port,
    host: env.HOST ?? DEFAULT_HOST,
    logLevel: level as LogLevel,
    prettyLogs: options.isTTY && env.CI !== 'true',
    configFile: resolve(cwd, env.FICUS_CONFIG ?? DEFAULT_CONFIG_FILE),
    dataDir: resolve(cwd, env.FICUS_DATA_DIR ?? DEFAULT_DATA_DIR),
    instance,
  }
}

export interface RunningGateway {
  readonly app: FastifyInstance
  readonly config: GatewayConfig
  readonly store: AuthorityStore
  readonly logger: Logger
  /** `http://host:port` the gateway listens on. */
  readonly url: string
  /** Graceful shutdown: stop accepting, finish in-flight requests (bounded), close pools, persist. */
  close(): Promise<void>
}

/**
 * Loads the config, opens the authority store, builds the gateway and listens. Nothing listens
 * unless every step succeeded: a bad config or unreadable state never starts half-configured.
 */
export async function startGateway(settings: Settings, options: { logger?: Logger; config?: GatewayConfig } = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel, pretty: settings.prettyLogs })
  const config = options.config ?? (await loadConfig(settings.configFile))
  const store = new FileAuthorityStore({
    file: join(settings.dataDir, AUTHORITY_FILE),
    slices: config.slices.map((slice) => ({ id: slice.id, authority: slice.authority })),
    instance: settings.instance,
  })
  await store.open()
  const app = await buildGateway(config, { authority: store, logger })
  try {
    await app.listen({ port: settings.port, host: settings.host })
  } catch (err) {
    await app.close()
    const code = (err as NodeJS.ErrnoException).code
    const hint = code === 'EADDRINUSE' ? ' is in use; set PORT to another port' : `: ${(err as Error).message}`
    throw new FicusError('FICUS_ERR_LISTEN', `${settings.host}:${settings.port}${hint}`, { cause: err })
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : settings.port
  const shownHost = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`
  logger.info(
    { url, config: config.version, slices: config.slices.length, store: store.kind, dataDir: settings.dataDir, instance: settings.instance },
    'gateway listening',
  )

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // In-flight requests get shutdownTimeoutMs to finish; then their connections are cut.
      const deadline = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing connections still in flight')
        app.server.closeAllConnections()
      }, config.shutdownTimeoutMs)
      try {
        await app.close()
      } finally {
        clearTimeout(deadline)
        await store.close()
      }
      logger.info('gateway stopped')
    })()
    return closing
  }
  return { app, config, store, logger, url, close }
}
