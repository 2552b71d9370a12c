import type { Logger } from 'pino'
import type { CapturedPair } from '../capture/captured-pair.ts'
import { openCaptureReader, readCaptureKeys } from '../capture/read-captures.ts'
import type { GatewayConfig } from '../config/types.ts'
import type { Settings } from './settings.ts'

/** The captured pairs of one slice in a window, and what the store could not read. */
export interface CapturedPairs {
  readonly pairs: AsyncIterable<CapturedPair>
  /** Captured pairs found but not readable (wrong key, damaged): known once `pairs` is read. */
  unreadable(): number
  close(): Promise<void>
}

/**
 * The one place `ficus recompare` reaches the capture store: where the deployment keeps its captures
 * (the config's `capture.store`: the data directory or the captures topic), decrypted with its capture
 * keys (FICUS_CAPTURE_KEYS), records past their slice's retention skipped.
 */
export function openCapturedPairs(
  settings: Settings,
  config: GatewayConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  slice: string,
  since: Date,
  until?: Date,
): CapturedPairs {
  const reader = openCaptureReader({
    dataDir: settings.dataDir,
    kafka: settings.kafka,
    store: config.capture.store,
    keys: readCaptureKeys(env),
    logger,
    config,
  })
  return { pairs: reader.pairs(slice, since, until), unreadable: () => reader.unreadable, close: () => reader.close() }
}
