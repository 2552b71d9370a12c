import type { Logger } from 'pino'
import type { CapturedPair } from '../capture/captured-pair.ts'
import type { KafkaSettings } from '../publish/open-sinks.ts'
import type { Settings } from './settings.ts'

// replaced on merge: the capture reader's API (src/capture/read-captures.ts, built beside this),
// declared here so that this file type-checks before it lands. On merge, these declarations give
// way to `import { openCaptureReader, readCaptureKeys, type CaptureKeys } from '../capture/read-captures.ts'`.
type CaptureKeys = unknown // replaced on merge
interface CaptureReader {
  pairs(slice: string, since: Date, until?: Date): AsyncIterable<CapturedPair>
  readonly unreadable: number
  close(): Promise<void>
} // replaced on merge
const notMerged = (): never => {
  throw new Error('the capture store is not part of this build yet') // replaced on merge
}
const readCaptureKeys: (env: NodeJS.ProcessEnv) => CaptureKeys = notMerged // replaced on merge
const openCaptureReader: (options: {
  dataDir: string
  kafka: KafkaSettings | undefined
  store: 'data-dir' | 'kafka'
  keys: CaptureKeys
  logger: Logger
}) => CaptureReader = notMerged // replaced on merge

/** The captured pairs of one slice in a window, and what the store could not read. */
export interface CapturedPairs {
  readonly pairs: AsyncIterable<CapturedPair>
  /** Captured pairs found but not readable (wrong key, damaged): known once `pairs` is read. */
  unreadable(): number
  close(): Promise<void>
}

/**
 * The one place `ficus recompare` reaches the capture store: where the deployment keeps its captures
 * (Kafka when it publishes there, else the data directory), decrypted with its capture keys.
 */
export function openCapturedPairs(settings: Settings, env: NodeJS.ProcessEnv, logger: Logger, slice: string, since: Date, until?: Date): CapturedPairs {
  const reader = openCaptureReader({
    dataDir: settings.dataDir,
    kafka: settings.kafka,
    store: settings.kafka ? 'kafka' : 'data-dir',
    keys: readCaptureKeys(env),
    logger,
  })
  return { pairs: reader.pairs(slice, since, until), unreadable: () => reader.unreadable, close: () => reader.close() }
}
