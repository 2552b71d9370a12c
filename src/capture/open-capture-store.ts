import type { Logger } from 'pino'
import type { CaptureConfig, GatewayConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'
import type { KafkaSettings } from '../publish/open-sinks.ts'
import { CAPTURE_KEYS_ENV, CAPTURE_KEY_BYTES, type CaptureKeys } from './capture-keys.ts'
import type { CaptureMetrics, PairCapture } from './capture-queue.ts'
import { FileCaptureStore } from './file-capture-store.ts'
import { KafkaCaptureStore } from './kafka-capture-store.ts'

const HOUR_MS = 3_600_000

/** The slices that capture, with their capture settings. */
export function capturingSlices(config: GatewayConfig): Map<string, CaptureConfig> {
  return new Map(config.slices.flatMap((slice) => (slice.capture ? [[slice.id, slice.capture] as const] : [])))
}

/**
 * The capture store of a gateway, or undefined when no slice captures. The one place that chooses:
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
}): Promise<(PairCapture & { close(timeoutMs?: number): Promise<void> }) | undefined> {
  const slices = capturingSlices(options.config)
  if (slices.size === 0) return undefined
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
    store.open()
    logger.info({ store: 'kafka', slices: [...slices.keys()], keyId: keys.current }, 'capturing pairs')
    return store
  }
  const store = new FileCaptureStore({ dataDir: options.dataDir, slices, keys, logger, ...(metrics ? { metrics } : {}) })
  await store.open()
  logger.info({ store: 'data-dir', slices: [...slices.keys()], keyId: keys.current }, 'capturing pairs')
  return store
}
