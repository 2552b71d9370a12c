import { fail, FicusError } from '../../errors/errors.ts'
import { createKafkaClient, type KafkaAdmin } from '../../kafka/index.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { eventOf } from './stream-record.ts'

/** Progress is told every this many records (and at the end). */
const PROGRESS_EVERY = 1_000

export interface KafkaReadOptions {
  readonly brokers: readonly string[]
  readonly topic: string
  /** Start at the offsets of this time (ms); from the beginning when null. */
  readonly from: number | null
  /** Stop at the offsets of this time (ms); at the end as it was when reading began when null. */
  readonly to: number | null
  readonly timeoutMs?: number
}

/**
 * Reads a bounded range of a comparisons topic: per partition from the offset of `from` (or the
 * beginning) to the offset of `to` (or the end when reading began), straight from the partitions'
 * leaders (no consumer group). Records are handed over one by one; values that are not comparisons
 * are counted as invalid.
 */
export async function readComparisonsFromKafka(
  options: KafkaReadOptions,
  onRecord: (record: ComparisonsStreamEvent) => void,
  onProgress?: (done: number, total: number) => void,
): Promise<{ invalid: number; other: number }> {
  const kafka = createKafkaClient({ clientId: 'ficus-report', brokers: options.brokers, connectionTimeoutMs: 3_000, retry: { retries: 2 } })
  let admin: KafkaAdmin
  try {
    admin = await kafka.admin()
  } catch (err) {
    throw fail.reportSource(`cannot reach Kafka at ${options.brokers.join(',')}: ${(err as Error).message}`, { cause: err })
  }
  try {
    if (!(await admin.listTopics()).includes(options.topic)) throw fail.reportSource(`topic ${options.topic} does not exist on ${options.brokers.join(',')}`)
    const offsets = await admin.partitionOffsets(options.topic)
    const startAt = options.from === null ? undefined : await admin.offsetsForTime(options.topic, options.from)
    const endAt = options.to === null ? undefined : await admin.offsetsForTime(options.topic, options.to)
    const ranges = offsets.map(({ partition, low, high }) => {
      const start = startAt?.find((entry) => entry.partition === partition)?.offset ?? low
      const endByTime = endAt?.find((entry) => entry.partition === partition)?.offset ?? high
      const end = endByTime < high ? endByTime : high
      return { partition, start: start > low ? start : low, end }
    })
    const total = ranges.reduce((sum, range) => sum + (range.end > range.start ? Number(range.end - range.start) : 0), 0)
    let done = 0
    let invalid = 0
    let other = 0
    if (total === 0) return { invalid, other }

    // Fetch answers of at most 4 MiB (2 MiB a partition), read one at a time per broker: memory
    // stays bounded whatever the size of the topic.
    await kafka
      .readRanges(
        options.topic,
        ranges,
        (value) => {
          done += 1
          // An event of a type this version does not know is passed over, not counted as invalid.
          const event = value === null ? 'invalid' : eventOf(value)
          if (event === 'invalid') invalid += 1
          else if (event === 'other') other += 1
          else onRecord(event)
          if (onProgress !== undefined && done % PROGRESS_EVERY === 0) onProgress(done, total)
        },
        { timeoutMs: options.timeoutMs ?? 600_000 },
      )
      .catch((err: unknown) => {
        if (err instanceof FicusError) throw err
        throw fail.reportSource(`reading ${options.topic} from ${options.brokers.join(',')} failed: ${(err as Error).message}`, { cause: err })
      })
    onProgress?.(total, total)
    return { invalid, other }
  } finally {
    await admin.close()
  }
}
