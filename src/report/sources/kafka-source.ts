import { randomUUID } from 'node:crypto'
import { fail } from '../../errors/errors.ts'
import { createKafkaClient, type KafkaAdmin } from '../../kafka/index.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { readEvent } from '../evidence-event.ts'

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
export async function readComparisonsFromKafka(
  options: KafkaReadOptions,
  onRecord: (record: ComparisonsStreamEvent) => void,
  onProgress?: (done: number, total: number) => void,
): Promise<{ invalid: number; other: number }> {
  const kafka = createKafkaClient({ clientId: 'ficus-report', brokers: options.brokers, connectionTimeoutMs: 3_000, retry: { retries: 2 } })
  const groupId = `ficus-report-${randomUUID()}`
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
    const pending = new Set(ranges.filter((range) => range.end > range.start).map((range) => range.partition))
    if (pending.size === 0) return { invalid, other }

    // Small fetches: memory stays bounded whatever the size of the topic.
    const consumer = kafka.consumer({
      groupId,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 2 * 1024 * 1024,
    })
    try {
      const timeoutMs = options.timeoutMs ?? 600_000
      let timer: NodeJS.Timeout | undefined
      const finished = new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(fail.reportSource(`reading ${options.topic} did not finish within ${timeoutMs} ms`)), timeoutMs)
        consumer.onGroupJoin(() => {
          for (const range of ranges) if (range.end > range.start) consumer.seek(options.topic, range.partition, range.start)
        })
        consumer
          .start([options.topic], async (batch) => {
            const range = ranges.find((candidate) => candidate.partition === batch.partition)
            if (!range || !pending.has(batch.partition)) return
            for (const message of batch.messages) {
              if (message.offset >= range.end) break
              if (message.offset >= range.start) {
                done += 1
                try {
                  const record = readEvent(JSON.parse(message.value?.toString('utf8') ?? ''))
                  // An event of a type this version does not know is passed over, not counted as invalid.
                  if (record === 'invalid') invalid += 1
                  else if (record === 'other') other += 1
                  else onRecord(record)
                } catch {
                  invalid += 1
                }
              }
              batch.resolveOffset(message.offset)
              if (message.offset + 1n >= range.end) {
                pending.delete(batch.partition)
                break
              }
            }
            onProgress?.(done, total)
            await batch.heartbeat()
            if (pending.size === 0) resolve()
          })
          .catch(reject)
      })
      await finished.finally(() => clearTimeout(timer))
    } finally {
      await consumer.close()
    }
    return { invalid, other }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined)
    await admin.close()
  }
}
