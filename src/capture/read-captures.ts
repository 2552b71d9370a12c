import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Logger } from 'pino'
import { MAX_CAPTURE_RETENTION_HOURS } from '../config/defaults.ts'
import type { GatewayConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'
import type { KafkaSettings } from '../publish/open-sinks.ts'
import { openEnvelope, parseEnvelope, type CaptureEnvelope, type UnreadableCause } from './capture-envelope.ts'
import type { CapturedPair } from './captured-pair.ts'
import { CAPTURE_KEYS_ENV, parseCaptureKeys, type CaptureKeys } from './capture-keys.ts'
import { CAPTURES_DIR, listSegments, SLICE_FOLDER, segmentStart } from './file-capture-store.ts'
import { readKafkaEnvelopes } from './kafka-capture-store.ts'

export type { CaptureKeys } from './capture-keys.ts'

const HOUR_MS = 3_600_000

/**
 * The capture keys of FICUS_CAPTURE_KEYS: FICUS_ERR_CAPTURE_KEY_MISSING when unset,
 * FICUS_ERR_CAPTURE_KEY_INVALID (naming the entry's position, never the key) when malformed.
 */
export function readCaptureKeys(env: NodeJS.ProcessEnv): CaptureKeys {
  return parseCaptureKeys(env[CAPTURE_KEYS_ENV])
}

export interface CaptureReaderOptions {
  readonly dataDir: string
  readonly kafka: KafkaSettings | undefined
  readonly store: 'data-dir' | 'kafka'
  readonly keys: CaptureKeys
  readonly logger: Logger
  /** The routes config: records older than their slice's `retentionHours` are skipped. Without it, the longest retention allowed (720 h). */
  readonly config?: GatewayConfig
  /** The clock retention is judged by (tests). */
  readonly now?: () => number
}

export interface CaptureReader {
  /** The decrypted pairs of `slice` captured in [since, until) (until: now), oldest segment first; expired ones skipped. */
  pairs(slice: string, since: Date, until?: Date): AsyncIterable<CapturedPair>
  /** Records found that could not be read: unknown key id, failed authentication, malformed. */
  readonly unreadable: number
  close(): Promise<void>
}

/**
 * Reads captured pairs back (`ficus recompare`): from the data directory's segments or the captures
 * topic, decrypted with any of the keys. A record that cannot be read — a key id not among the keys,
 * a failed authentication (tampered, moved to another slice, re-dated, or the wrong key under the
 * right id), a malformed line — is counted in `unreadable` and logged once per cause (key id only),
 * never yielded and never a crash.
 */
export function openCaptureReader(options: CaptureReaderOptions): CaptureReader {
  const log = options.logger.child({ component: 'capture-reader' })
  const now = options.now ?? Date.now
  const warned = new Set<UnreadableCause>()
  let unreadable = 0
  const retentionMs = (slice: string): number =>
    (options.config?.slices.find((candidate) => candidate.id === slice)?.capture?.retentionHours ?? MAX_CAPTURE_RETENTION_HOURS) * HOUR_MS

  async function* pairs(slice: string, since: Date, until?: Date): AsyncGenerator<CapturedPair> {
    if (!SLICE_FOLDER.test(slice)) return
    const from = Math.max(since.getTime(), now() - retentionMs(slice))
    const to = until?.getTime() ?? Number.POSITIVE_INFINITY
    if (!(from < to)) return
    const envelopes = options.store === 'kafka' ? kafkaEnvelopes(options.kafka, slice, from, until?.getTime()) : fileEnvelopes(options.dataDir, slice, from, to)
    for await (const envelope of envelopes) {
      if (envelope !== undefined) {
        const at = Date.parse(envelope.capturedAt)
        if (at < from || at >= to) continue
      }
      const opened = envelope === undefined ? ({ ok: false, cause: 'malformed', kid: null } as const) : openEnvelope(envelope, slice, options.keys)
      if (opened.ok) {
        yield opened.pair
        continue
      }
      unreadable += 1
      if (!warned.has(opened.cause)) {
        warned.add(opened.cause)
        log.warn({ slice, cause: opened.cause, kid: opened.kid }, 'captured pair cannot be read; skipped (further ones with this cause are only counted)')
      }
    }
  }

  return {
    pairs,
    get unreadable() {
      return unreadable
    },
    close: () => Promise.resolve(),
  }
}

function kafkaEnvelopes(kafka: KafkaSettings | undefined, slice: string, from: number, until: number | undefined): AsyncIterable<CaptureEnvelope | undefined> {
  if (!kafka) throw fail.envInvalid('KAFKA_BROKERS: captures are kept on Kafka (capture.store "kafka") and reading them needs it (got nothing)')
  return readKafkaEnvelopes(kafka, slice, from, until)
}

/** The envelopes of a slice's segments whose hour overlaps [from, to), oldest first; undefined for a line that is not one. */
async function* fileEnvelopes(dataDir: string, slice: string, from: number, to: number): AsyncGenerator<CaptureEnvelope | undefined> {
  const dir = join(dataDir, CAPTURES_DIR, slice)
  for (const name of await listSegments(dir)) {
    const start = segmentStart(name) ?? 0
    if (start + HOUR_MS <= from || start >= to) continue
    const lines = createInterface({ input: createReadStream(join(dir, name)), crlfDelay: Number.POSITIVE_INFINITY })
    try {
      for await (const line of lines) if (line.trim() !== '') yield parseEnvelope(line)
    } catch (err) {
      // A segment purged while it was read ends there.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    } finally {
      lines.close()
    }
  }
}
