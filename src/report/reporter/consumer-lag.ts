import type { Logger } from 'pino'
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../../kafka/index.ts'

/** One partition of the comparisons topic as the broker and the group see it. */
export interface PartitionOffsetsSeen {
  readonly partition: number
  /** The earliest offset still on the broker. */
  readonly low: bigint
  /** The offset the next record will get. */
  readonly high: bigint
  /** The next offset the group committed; null where it committed none. */
  readonly committed: bigint | null
}

/** The latest reading of the topic's and the group's offsets, and when it was taken. */
export interface OffsetsReading {
  readonly at: number
  readonly partitions: readonly PartitionOffsetsSeen[]
}

export const DEFAULT_LAG_INTERVAL_MS = 5_000

/**
 * Reads the topic's end offsets and the group's committed offsets every `intervalMs`, with an admin
 * client of its own: the lag of a consumer that is gone (which reports nothing itself) is still
 * measured. A reading that fails keeps the last one (its `at` tells its age) and is logged once per
 * failure streak.
 */
export class ConsumerLagProbe {
  readonly #kafka: KafkaClient
  readonly #options: { topic: string; groupId: string; logger: Logger; intervalMs: number }
  #admin: KafkaAdmin | undefined
  #latest: OffsetsReading | undefined
  #failing = false
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined

  constructor(options: { brokers: readonly string[]; clientId: string; topic: string; groupId: string; logger: Logger; intervalMs?: number }) {
    this.#kafka = createKafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeoutMs: 3_000,
      requestTimeoutMs: 5_000,
      retry: { retries: 1 },
    })
    this.#options = { topic: options.topic, groupId: options.groupId, logger: options.logger, intervalMs: options.intervalMs ?? DEFAULT_LAG_INTERVAL_MS }
  }

  get latest(): OffsetsReading | undefined {
    return this.#latest
  }

  start(): void {
    const tick = (): void => {
      this.#reading = this.#read().finally(() => {
        this.#reading = undefined
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#options.intervalMs).unref()
      })
    }
    this.#timer = setTimeout(tick, 0).unref()
  }

  /** Reads now (tests and the first answer after start). */
  async read(): Promise<OffsetsReading | undefined> {
    await (this.#reading ?? this.#read())
    return this.#latest
  }

  async #read(): Promise<void> {
    try {
      this.#admin ??= await this.#kafka.admin()
      const [offsets, committed] = await Promise.all([
        this.#admin.partitionOffsets(this.#options.topic),
        this.#admin.committedOffsets(this.#options.groupId, this.#options.topic),
      ])
      const byPartition = new Map(committed.map((entry) => [entry.partition, entry.offset]))
      this.#latest = { at: Date.now(), partitions: offsets.map((entry) => ({ ...entry, committed: byPartition.get(entry.partition) ?? null })) }
      this.#failing = false
    } catch (err) {
      if (!this.#failing) this.#options.logger.warn({ err, topic: this.#options.topic }, 'cannot read the comparisons topic offsets; lag is not current')
      this.#failing = true
      const admin = this.#admin
      this.#admin = undefined
      await admin?.close()
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#reading
    await this.#admin?.close()
    this.#kafka.closeAll()
  }
}
