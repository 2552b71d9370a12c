import type { Logger } from 'pino'
import type { GatewayConfig, SliceConfig } from '../config/types.ts'
import { IdentityMaps } from '../identity/identity-maps.ts'
import { openSidecarSink, type OwnComparisonSink } from '../publish/open-sinks.ts'
import { deploymentSalt, prepareDataDir } from './data-dir.ts'
import type { Settings } from './settings.ts'

/** What `ficus recompare` judges and publishes with, opened as the gateway opens it. */
export interface RecompareDeps {
  /** The deployment's salt: replays hash values, data keys and bodies as the live comparisons do. */
  readonly salt: string
  /** The identity maps the slice's body ids use (translate.<side>.ids); undefined when it uses none. */
  readonly identity: IdentityMaps | undefined
  /** Where replays are published; undefined for a dry run. */
  readonly sink: OwnComparisonSink | undefined
  /** Flushes the sink (within the config's shutdown timeout) and releases everything. */
  close(): Promise<void>
}

/**
 * The salt, identity maps and — when publishing — the replay sink of `ficus recompare`: the salt as
 * the gateway chooses it, the slice's identity maps from the same files or Redis, the comparisons
 * written where the deployment's go (openSidecarSink).
 */
export async function openRecompareDeps(
  settings: Settings,
  config: GatewayConfig,
  slice: SliceConfig,
  options: { readonly publish: boolean; readonly logger: Logger },
): Promise<RecompareDeps> {
  const salt = await deploymentSalt(settings)
  const used = new Set([...slice.compare.bodyIds.legacy, ...slice.compare.bodyIds.modern].map((rule) => rule.map))
  const configs = new Map([...config.identityMaps].filter(([name]) => used.has(name)))
  const identity =
    configs.size === 0
      ? undefined
      : await IdentityMaps.open({ configs, redis: settings.redisUrl ? { url: settings.redisUrl, prefix: settings.redisPrefix } : undefined })
  let sink: OwnComparisonSink | undefined
  try {
    if (options.publish) {
      await prepareDataDir(settings)
      sink = await openSidecarSink({
        name: 'replay',
        kafka: settings.kafka,
        dataDir: settings.dataDir,
        config,
        logger: options.logger,
        durability: settings.events,
      })
    }
  } catch (err) {
    await identity?.close()
    throw err
  }
  return {
    salt,
    identity,
    sink,
    close: async () => {
      try {
        await sink?.close(config.shutdownTimeoutMs)
      } finally {
        await identity?.close()
      }
    },
  }
}
