import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { CaptureConfig, GatewayConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'
import type { KafkaSettings } from '../publish/open-sinks.ts'
import { CAPTURE_KEYS_ENV, CAPTURE_KEY_BYTES, type CaptureKeys } from './capture-keys.ts'
import type { CaptureMetrics, PairCapture } from './capture-queue.ts'
import { CAPTURES_DIR, FileCaptureStore } from './file-capture-store.ts'
import { KafkaCaptureStore } from './kafka-capture-store.ts'

const HOUR_MS = 3_600_000

/** The slices that capture, with their capture settings. */
export function capturingSlices(config: GatewayConfig): Map<string, CaptureConfig> {
  return new Map(config.slices.flatMap((slice) => (slice.capture ? [[slice.id, slice.capture] as const] : [])))
}

type OpenedCaptureStore = PairCapture & { close(timeoutMs?: number): Promise<void> }

/**
 * Captures an earlier config left in the data directory (capture switched off, or moved to the
 * Kafka topic): purged all the same when their retention ends (a slice that no longer captures: the
 * default retention). Undefined when there are none.
 */
async function leftoverCaptures(options: { dataDir: string; slices: ReadonlyMap<string, CaptureConfig>; logger: Logger; metrics?: CaptureMetrics }) {
  const found = await access(join(options.dataDir, CAPTURES_DIR)).then(
    () => true,
    () => false,
  )
  if (!found) return undefined
  const { dataDir, slices, logger, metrics } = options
  const purger = new FileCaptureStore({ dataDir, slices, keys: undefined, logger, ...(metrics ? { metrics } : {}) })
  await purger.open()
  return purger
}

/**
 * The capture store of a gateway, or undefined when no slice captures (and none of its captures is
 * left in the data directory: those are still purged). The one place that chooses:
 * the data directory, or the captures topic (`capture.store: 'kafka'`). Refuses to start without a
 * key (FICUS_ERR_CAPTURE_KEY_MISSING) — captures are never kept in clear — and a Kafka store
 * without KAFKA_BROKERS (FICUS_ERR_ENV_INVALID).
 */
export async function openCaptureStore(options: {
  config: GatewayConfig
  dataDir: string
  kafka: KafkaSettings | undefined
  keys: CaptureKeys | undefined
  logger: Logger
  metrics?: CaptureMetrics
}): Promise<OpenedCaptureStore | undefined> {
  const slices = capturingSlices(options.config)
  if (slices.size === 0) return await leftoverCaptures({ ...options, slices })
  const names = [...slices.keys()].join(', ')
  if (!options.keys)
    throw fail.captureKeyMissing(
      `${CAPTURE_KEYS_ENV} is not set, and slices capture pairs (${names}): captures are only kept encrypted; set it to <keyId>:<base64 of ${CAPTURE_KEY_BYTES} random bytes>`,
      { details: { variable: CAPTURE_KEYS_ENV, slices: [...slices.keys()] } },
    )
  const { keys, logger, metrics } = options
  if (options.config.capture.store === 'kafka') {
    if (!options.kafka)
      throw fail.envInvalid(`KAFKA_BROKERS: capture.store is "kafka" (slices ${names}) and needs it (got nothing)`, { details: { variable: 'KAFKA_BROKERS' } })
    const retentionMs = Math.max(...[...slices.values()].map((capture) => capture.retentionHours * HOUR_MS))
    const store = new KafkaCaptureStore({ kafka: options.kafka, retentionMs, keys, logger, ...(metrics ? { metrics } : {}) })
    const leftover = await leftoverCaptures({ ...options, slices })
    store.open()
    logger.info({ store: 'kafka', slices: [...slices.keys()], keyId: keys.current }, 'capturing pairs')
    if (!leftover) return store
    return {
      write: (pair) => store.write(pair),
      close: async (timeoutMs?: number) => {
        await store.close(timeoutMs)
        await leftover.close()
      },
    }
  }
  const store = new FileCaptureStore({ dataDir: options.dataDir, slices, keys, logger, ...(metrics ? { metrics } : {}) })
  await store.open()
  logger.info({ store: 'data-dir', slices: [...slices.keys()], keyId: keys.current }, 'capturing pairs')
  return store
}
