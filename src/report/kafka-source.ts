import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import type { Comparison } from '../compare/comparison.ts'
import { FicusError } from '../errors.ts'

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
 * beginning) to the offset of `to` (or the end when reading began), in a throwaway consumer group
 * that commits nothing and is deleted afterwards. Records are handed over one by one.
 */
export async function readKafka(options: KafkaReadOptions, onRecord: (record: Comparison) => void, onProgress?: (done: number, total: number) => void): Promise<{ invalid: number }> {
  const kafka = new Kafka({ clientId: 'ficus-report', brokers: [...options.brokers], logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 2 } })
  const admin = kafka.admin()
  const groupId = `ficus-report-${randomUUID()}`
  try {
    await admin.connect()
  } catch (err) {
    throw new FicusError('FICUS_ERR_REPORT_SOURCE', `cannot reach Kafka at ${options.brokers.join(',')}: ${(err as Error).message}`, { cause: err })
  }
  try {
    if (!(await admin.listTopics()).includes(options.topic)) throw new FicusError('FICUS_ERR_REPORT_SOURCE', `topic ${options.topic} does not exist on ${options.brokers.join(',')}`)
    const high = await admin.fetchTopicOffsets(options.topic)
    const startAt = options.from === null ? undefined : await admin.fetchTopicOffsetsByTimestamp(options.topic, options.from)
    const endAt = options.to === null ? undefined : await admin.fetchTopicOffsetsByTimestamp(options.topic, options.to)
    const ranges = high.map((partition) => {
      const low = Number(partition.low)
      const highWater = Number(partition.high)
      const start = Number(startAt?.find((entry) => entry.partition === partition.partition)?.offset ?? low)
      const endByTime = Number(endAt?.find((entry) => entry.partition === partition.partition)?.offset ?? -1)
      // An offset of -1 from a time lookup means "after the last message".
      const end = endByTime >= 0 ? Math.min(endByTime, highWater) : highWater
      return { partition: partition.partition, start: start < 0 ? highWater : Math.max(start, low), end }
    })
    const total = ranges.reduce((sum, range) => sum + Math.max(0, range.end - range.start), 0)
    let done = 0
    let invalid = 0
    const pending = new Set(ranges.filter((range) => range.end > range.start).map((range) => range.partition))
    if (pending.size === 0) return { invalid }

    // Small fetches: memory stays bounded whatever the size of the topic.
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000, maxBytesPerPartition: 1024 * 1024, maxBytes: 2 * 1024 * 1024 })
    await consumer.connect()
    try {
      await consumer.subscribe({ topics: [options.topic], fromBeginning: true })
      const finished = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new FicusError('FICUS_ERR_REPORT_SOURCE', `reading ${options.topic} did not finish within ${options.timeoutMs ?? 600_000} ms`)), options.timeoutMs ?? 600_000)
        void consumer.run({
          autoCommit: false,
          eachBatch: async (payload) => {
            const { batch } = payload
            const range = ranges.find((candidate) => candidate.partition === batch.partition)
            if (!range || !pending.has(batch.partition)) return
            for (const message of batch.messages) {
              const offset = Number(message.offset)
              if (offset >= range.end) break
              if (offset >= range.start) {
                done += 1
                try {
                  onRecord(JSON.parse(message.value?.toString('utf8') ?? '') as Comparison)
                } catch {
                  invalid += 1
                }
              }
              payload.resolveOffset(message.offset)
              if (offset + 1 >= range.end) {
                pending.delete(batch.partition)
                break
              }
            }
            onProgress?.(done, total)
            await payload.heartbeat()
            if (pending.size === 0) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        consumer.on(consumer.events.GROUP_JOIN, () => {
          for (const range of ranges) if (range.end > range.start) consumer.seek({ topic: options.topic, partition: range.partition, offset: String(range.start) })
        })
      })
      await finished
    } finally {
      await consumer.disconnect()
    }
    return { invalid }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined)
    await admin.disconnect()
  }
}
