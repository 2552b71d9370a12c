import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { createKafkaClient, type KafkaClient, type KafkaProducer } from '../kafka/index.ts'
import { DEFAULT_KAFKA_PARTITIONS } from '../publish/kafka-publisher.ts'
import { DEFAULT_CAPTURES_TOPIC, type KafkaSettings } from '../publish/open-sinks.ts'
import { parseEnvelope, type CaptureEnvelope } from './capture-envelope.ts'
import type { CapturedPair } from './captured-pair.ts'
import type { CaptureKeys } from './capture-keys.ts'
import { CaptureQueue, type CaptureMetrics, type PairCapture, type QueuedCapture } from './capture-queue.ts'

const RECONNECT_MIN_MS = 500
const RECONNECT_MAX_MS = 30_000
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000
/** The shortest log segment of the captures topic. */
const MIN_SEGMENT_MS = 60_000

/**
 * The captures topic's `segment.ms`: Kafka deletes a whole log segment once its newest record passed
 * `retention.ms`, so a segment holds a tenth of the retention (at most an hour, at least a minute) —
 * with the broker's default (a week) a capture would outlive a short retention by days.
 */
export function captureSegmentMs(retentionMs: number): number {
  return Math.max(MIN_SEGMENT_MS, Math.min(3_600_000, Math.floor(retentionMs / 10)))
}

export function capturesTopicOf(kafka: KafkaSettings): string {
  return kafka.capturesTopic ?? DEFAULT_CAPTURES_TOPIC
}

/**
 * Captured pairs on a Kafka topic: the same envelopes as the data directory's lines, one per message,
 * keyed by slice; the topic's `retention.ms` (set when Ficus creates it: the longest slice retention,
 * with segments of a tenth of it) expires them. The broker is reached in the background: while it is away, captures queue within the
 * bound and are then dropped and counted, never waited for by the parallel run.
 */
export class KafkaCaptureStore implements PairCapture {
  readonly #client: KafkaClient
  readonly #topic: string
  readonly #retentionMs: number
  readonly #settings: KafkaSettings
  readonly #log: Logger
  readonly #metrics: CaptureMetrics | undefined
  readonly #queue: CaptureQueue
  readonly #stopped = new AbortController()
  #producer: Promise<KafkaProducer> | undefined

  constructor(options: { kafka: KafkaSettings; retentionMs: number; keys: CaptureKeys; logger: Logger; metrics?: CaptureMetrics }) {
    this.#settings = options.kafka
    this.#topic = capturesTopicOf(options.kafka)
    this.#retentionMs = Math.ceil(options.retentionMs)
    this.#log = options.logger.child({ component: 'captures' })
    this.#metrics = options.metrics
    this.#client = createKafkaClient({
      brokers: options.kafka.brokers,
      clientId: `${options.kafka.clientId}-captures`,
      connectionTimeoutMs: 3_000,
      retry: { retries: 2 },
      logger: this.#log,
    })
    this.#queue = new CaptureQueue({ keys: options.keys, deliver: (batch) => this.#send(batch), metrics: options.metrics, logger: this.#log })
  }

  /** Starts reaching the broker (topic created when missing, then a producer); returns at once. */
  open(): void {
    this.#producer = this.#connect()
    this.#producer.catch(() => undefined)
  }

  write(pair: CapturedPair): void {
    this.#queue.write(pair)
  }

  flush(): Promise<void> {
    return this.#queue.flush()
  }

  /** Sends what is queued within `timeoutMs`; what is left is dropped (counted as errors). */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    await Promise.race([this.#queue.close(), sleep(timeoutMs, undefined, { ref: false })])
    this.#stopped.abort()
    const producer = await Promise.race([this.#producer?.catch(() => undefined), sleep(100, undefined, { ref: false })])
    await producer?.close()
    this.#client.closeAll()
  }

  async #send(batch: readonly QueuedCapture[]): Promise<void> {
    const producer = await (this.#producer ?? Promise.reject(new Error('capture store not open')))
    await producer.send([{ topic: this.#topic, messages: batch.map((item) => ({ key: item.slice, value: item.line.trimEnd() })) }])
    const bySlice = new Map<string, number>()
    for (const item of batch) bySlice.set(item.slice, (bySlice.get(item.slice) ?? 0) + 1)
    for (const [slice, count] of bySlice) this.#metrics?.recordCapture(slice, 'written', count)
  }

  async #connect(): Promise<KafkaProducer> {
    for (let attempt = 0; ; attempt++) {
      this.#stopped.signal.throwIfAborted()
      try {
        await this.#ensureTopic()
        return await this.#client.producer()
      } catch (err) {
        if (attempt === 0) this.#log.warn({ topic: this.#topic, error: (err as Error).message }, 'captures topic not reachable yet; retrying')
        await sleep(Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt), undefined, { signal: this.#stopped.signal, ref: false })
      }
    }
  }

  async #ensureTopic(): Promise<void> {
    const admin = await this.#client.admin()
    try {
      const created = await admin.ensureTopics([
        {
          topic: this.#topic,
          partitions: this.#settings.partitions ?? DEFAULT_KAFKA_PARTITIONS,
          replicationFactor: this.#settings.replicationFactor ?? -1,
          configs: { 'retention.ms': String(this.#retentionMs), 'segment.ms': String(captureSegmentMs(this.#retentionMs)), 'cleanup.policy': 'delete' },
        },
      ])
      if (created.length > 0) this.#log.info({ topic: this.#topic, retentionMs: this.#retentionMs }, 'captures topic created')
      else await this.#checkRetention(admin.topicConfigs(this.#topic, ['retention.ms']))
    } finally {
      await admin.close()
    }
  }

  async #checkRetention(configs: Promise<Record<string, string>>): Promise<void> {
    const retention = Number((await configs.catch((): Record<string, string> => ({})))['retention.ms'])
    if (!(retention > 0 && retention <= this.#retentionMs))
      this.#log.warn(
        { topic: this.#topic, retentionMs: Number.isNaN(retention) ? null : retention, expectedMs: this.#retentionMs },
        'captures topic keeps records longer than the longest slice retention (or for ever): set its retention.ms',
      )
  }
}

/**
 * The envelopes of one slice on the captures topic between two times (by record time), read in a
 * throwaway consumer group that commits nothing and is deleted afterwards, at most `buffer`
 * envelopes held at once. Ends at the topic's end as it was when reading began.
 */
export async function* readKafkaEnvelopes(
  kafka: KafkaSettings,
  slice: string,
  sinceMs: number,
  untilMs: number | undefined,
  options: { readonly timeoutMs?: number; readonly buffer?: number } = {},
): AsyncGenerator<CaptureEnvelope | undefined> {
  const topic = capturesTopicOf(kafka)
  const client = createKafkaClient({ clientId: `${kafka.clientId}-captures-reader`, brokers: kafka.brokers, connectionTimeoutMs: 3_000, retry: { retries: 2 } })
  const groupId = `ficus-captures-reader-${randomUUID()}`
  const admin = await client.admin()
  try {
    if (!(await admin.listTopics()).includes(topic)) return
    const ranges = await rangesOf(admin, topic, sinceMs, untilMs)
    if (ranges.length === 0) return
    yield* consumeRanges(client, topic, groupId, ranges, slice, options)
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined)
    await admin.close()
    client.closeAll()
  }
}

interface Range {
  readonly partition: number
  readonly start: bigint
  readonly end: bigint
}

async function rangesOf(admin: Awaited<ReturnType<KafkaClient['admin']>>, topic: string, sinceMs: number, untilMs: number | undefined): Promise<Range[]> {
  const offsets = await admin.partitionOffsets(topic)
  const startAt = await admin.offsetsForTime(topic, sinceMs)
  const endAt = untilMs === undefined ? undefined : await admin.offsetsForTime(topic, untilMs)
  return offsets
    .map(({ partition, low, high }) => {
      const start = startAt.find((entry) => entry.partition === partition)?.offset ?? low
      const byTime = endAt?.find((entry) => entry.partition === partition)?.offset ?? high
      return { partition, start: start > low ? start : low, end: byTime < high ? byTime : high }
    })
    .filter((range) => range.end > range.start)
}

async function* consumeRanges(
  client: KafkaClient,
  topic: string,
  groupId: string,
  ranges: readonly Range[],
  slice: string,
  options: { readonly timeoutMs?: number; readonly buffer?: number },
): AsyncGenerator<CaptureEnvelope | undefined> {
  const limit = options.buffer ?? 500
  const buffered: (CaptureEnvelope | undefined)[] = []
  const pending = new Set(ranges.map((range) => range.partition))
  let failure: Error | undefined
  let wake: (() => void) | undefined
  let space: (() => void) | undefined
  const signal = (): void => {
    wake?.()
    wake = undefined
  }
  const consumer = client.consumer({
    groupId,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 2 * 1024 * 1024,
  })
  consumer.onGroupJoin(() => {
    for (const range of ranges) consumer.seek(topic, range.partition, range.start)
  })
  const deadline = setTimeout(() => {
    failure = new Error(`reading ${topic} did not finish within ${options.timeoutMs ?? 600_000} ms`)
    signal()
  }, options.timeoutMs ?? 600_000)
  consumer
    .start([topic], async (batch) => {
      const range = ranges.find((candidate) => candidate.partition === batch.partition)
      if (!range || !pending.has(batch.partition)) return
      for (const message of batch.messages) {
        if (message.offset >= range.end) break
        if (message.offset >= range.start && message.key === slice) buffered.push(parseEnvelope(message.value?.toString('utf8') ?? ''))
        batch.resolveOffset(message.offset)
        if (message.offset + 1n >= range.end) pending.delete(batch.partition)
      }
      signal()
      while (buffered.length >= limit && failure === undefined) await new Promise<void>((resolve) => (space = resolve))
      await batch.heartbeat()
    })
    .catch((err: unknown) => {
      failure = err instanceof Error ? err : new Error(String(err))
      signal()
    })
  try {
    for (;;) {
      while (buffered.length > 0) {
        yield buffered.shift()
        if (buffered.length < limit) space?.()
      }
      if (failure !== undefined) throw failure
      if (pending.size === 0) return
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    clearTimeout(deadline)
    space?.()
    await consumer.close()
  }
}
