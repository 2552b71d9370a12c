/**
 * Reads bounded offset ranges of a topic's partitions straight from their leaders with Kafka's
 * Fetch request (version 4: record batches, no fetch sessions; brokers 0.11 to 4.x answer it), and
 * hands over each record's value as text. No consumer group, no per-record objects: a fetch
 * answer is one buffer, record values are decoded from it one at a time, so a reader's memory is
 * one answer (bounded by `maxBytes`) and what its batches decompress to.
 */
import type { Socket } from 'node:net'
import { promisify } from 'node:util'
import { gunzip, zstdDecompress, type ZlibOptions } from 'node:zlib'
import type { SocketTracker } from './socket-tracker.ts'

const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip)
const zstdAsync = promisify<Buffer, Buffer>(zstdDecompress)

const FETCH = 1
const FETCH_VERSION = 4
/** Decompression output chunks: large, so that a batch of a few MB is a few calls, not hundreds. */
const INFLATE_CHUNK = 256 * 1024
const BATCH_HEADER_BYTES = 61
const CONTROL_BATCH = 0x20

export interface ReadRange {
  readonly partition: number
  /** First offset to read. */
  readonly start: bigint
  /** Offset to stop before. */
  readonly end: bigint
}

export interface RangeReadOptions {
  readonly clientId: string
  /** The leader (`host:port`) of each partition. */
  readonly leaders: ReadonlyMap<number, string>
  /** Bound of one fetch answer, over its partitions. */
  readonly maxBytes: number
  readonly maxBytesPerPartition: number
  readonly requestTimeoutMs: number
  readonly connectionTimeoutMs: number
  /** When the whole read must be done by (ms since the epoch). */
  readonly deadline: number
  readonly tracker: SocketTracker
}

/** A Kafka error code in a fetch answer, as an error that names it. */
export class KafkaFetchError extends Error {
  readonly errorCode: number
  constructor(message: string, errorCode: number) {
    super(message)
    this.errorCode = errorCode
  }
}

/** One connection, one request at a time: the answer to each request, by its size prefix. */
class BrokerConnection {
  readonly #socket: Socket
  #chunks: Buffer[] = []
  #buffered = 0
  /** Bytes of the answer being received, its size prefix included; -1 before its prefix is in. */
  #expected = -1
  #waiting: { resolve: (answer: Buffer) => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined
  #failed: Error | undefined
  #correlation = 0

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err) => this.#fail(err))
    socket.on('close', () => this.#fail(new Error('broker connection closed')))
  }

  static async open(address: string, options: RangeReadOptions): Promise<BrokerConnection> {
    const colon = address.lastIndexOf(':')
    const host = address.slice(0, colon)
    const port = Number(address.slice(colon + 1))
    const socket = options.tracker.connect({ host, port, onConnect: () => undefined })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`connecting to ${address} timed out after ${options.connectionTimeoutMs} ms`))
      }, options.connectionTimeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    return new BrokerConnection(socket)
  }

  /** Sends a request (its body after the header) and answers the response body (after the correlation id). */
  request(apiKey: number, version: number, clientId: string, body: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.#failed) return Promise.reject(this.#failed)
    const correlation = ++this.#correlation
    const client = Buffer.from(clientId, 'utf8')
    const header = Buffer.allocUnsafe(4 + 2 + 2 + 4 + 2 + client.length)
    header.writeInt32BE(header.length - 4 + body.length, 0)
    header.writeInt16BE(apiKey, 4)
    header.writeInt16BE(version, 6)
    header.writeInt32BE(correlation, 8)
    header.writeInt16BE(client.length, 12)
    client.copy(header, 14)
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`Kafka request timed out after ${timeoutMs} ms`)), timeoutMs)
      this.#waiting = { resolve, reject, timer }
      this.#socket.write(Buffer.concat([header, body]))
    }).then((answer) => {
      if (answer.readInt32BE(0) !== correlation) throw new Error('Kafka answer out of order')
      return answer.subarray(4)
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    if (this.#buffered < 4) return
    // The size prefix decides when an answer is whole: chunks are joined once, not on every arrival.
    if (this.#expected < 0) {
      const head = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered)
      this.#chunks = [head]
      this.#expected = 4 + head.readInt32BE(0)
    }
    if (this.#buffered < this.#expected) return
    const data = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered)
    const answer = data.subarray(4, this.#expected)
    const rest = data.subarray(this.#expected)
    this.#chunks = rest.length > 0 ? [rest] : []
    this.#buffered = rest.length
    this.#expected = -1
    const waiting = this.#waiting
    this.#waiting = undefined
    if (waiting) {
      clearTimeout(waiting.timer)
      waiting.resolve(answer)
    }
  }

  #fail(err: Error): void {
    this.#failed ??= err
    const waiting = this.#waiting
    this.#waiting = undefined
    if (waiting) {
      clearTimeout(waiting.timer)
      waiting.reject(err)
    }
    this.#socket.destroy()
  }
}

/** A cursor over a buffer: big-endian integers, zigzag varints, strings. */
class Cursor {
  readonly buffer: Buffer
  at = 0

  constructor(buffer: Buffer) {
    this.buffer = buffer
  }

  int8(): number {
    return this.buffer.readInt8((this.at += 1) - 1)
  }
  int16(): number {
    return this.buffer.readInt16BE((this.at += 2) - 2)
  }
  int32(): number {
    return this.buffer.readInt32BE((this.at += 4) - 4)
  }
  int64(): bigint {
    return this.buffer.readBigInt64BE((this.at += 8) - 8)
  }
  string(): string {
    const length = this.int16()
    if (length < 0) return ''
    return this.buffer.toString('utf8', this.at, (this.at += length))
  }
  /** A zigzag varint of up to 32 bits. */
  varint(): number {
    let value = 0
    let shift = 0
    let byte: number
    do {
      byte = this.buffer[this.at++] as number
      value |= (byte & 0x7f) << shift
      shift += 7
    } while (byte & 0x80 && shift < 35)
    return (value >>> 1) ^ -(value & 1)
  }
  /** Steps over a varint of any length (a varlong). */
  skipVarint(): void {
    while ((this.buffer[this.at++] as number) & 0x80);
  }
}

function fetchRequest(topic: string, positions: readonly { partition: number; offset: bigint }[], options: RangeReadOptions): Buffer {
  const name = Buffer.from(topic, 'utf8')
  const body = Buffer.allocUnsafe(4 + 4 + 4 + 4 + 1 + 4 + 2 + name.length + 4 + positions.length * 16)
  let at = body.writeInt32BE(-1, 0) // replica id: a consumer
  at = body.writeInt32BE(500, at) // max wait
  at = body.writeInt32BE(1, at) // min bytes
  at = body.writeInt32BE(options.maxBytes, at)
  at = body.writeInt8(0, at) // read uncommitted: up to the high watermark, which the ranges end at
  at = body.writeInt32BE(1, at)
  at = body.writeInt16BE(name.length, at)
  at += name.copy(body, at)
  at = body.writeInt32BE(positions.length, at)
  for (const { partition, offset } of positions) {
    at = body.writeInt32BE(partition, at)
    at = body.writeBigInt64BE(offset, at)
    at = body.writeInt32BE(options.maxBytesPerPartition, at)
  }
  return body
}

interface PartitionAnswer {
  readonly partition: number
  readonly records: Buffer
}

function parseFetchAnswer(answer: Buffer, topic: string): PartitionAnswer[] {
  const cursor = new Cursor(answer)
  cursor.int32() // throttle time
  const out: PartitionAnswer[] = []
  for (let topics = cursor.int32(); topics > 0; topics--) {
    cursor.string()
    for (let partitions = cursor.int32(); partitions > 0; partitions--) {
      const partition = cursor.int32()
      const errorCode = cursor.int16()
      cursor.int64() // high watermark
      cursor.int64() // last stable offset
      const aborted = cursor.int32()
      if (aborted > 0) cursor.at += aborted * 16
      const size = cursor.int32()
      const records = size < 0 ? Buffer.alloc(0) : answer.subarray(cursor.at, (cursor.at += size))
      if (errorCode !== 0) throw new KafkaFetchError(`fetching ${topic} partition ${partition} failed with Kafka error code ${errorCode}`, errorCode)
      out.push({ partition, records })
    }
  }
  return out
}

interface RecordBatch {
  readonly base: bigint
  readonly last: bigint
  readonly control: boolean
  readonly count: number
  readonly codec: number
  /** The records, compressed when `codec` says so. */
  readonly body: Buffer
}

/** The record batches of a partition's answer; a last one the broker cut at the answer's bound is left for the next fetch. */
function batchesOf(records: Buffer): RecordBatch[] {
  const out: RecordBatch[] = []
  let at = 0
  while (at + 12 <= records.length) {
    const end = at + 12 + records.readInt32BE(at + 8)
    if (end > records.length) break
    const magic = records.readInt8(at + 16)
    if (magic !== 2) throw new Error(`record batch of message format v${magic}: only v2 (Kafka 0.11 and later) is read`)
    const base = records.readBigInt64BE(at)
    const attributes = records.readInt16BE(at + 21)
    const codec = attributes & 0x07
    if (codec !== 0 && codec !== 1 && codec !== 4)
      throw new Error(`record batch compressed with codec ${codec} (snappy or lz4): only gzip, zstd and none are read`)
    out.push({
      base,
      last: base + BigInt(records.readInt32BE(at + 23)),
      control: (attributes & CONTROL_BATCH) !== 0,
      count: records.readInt32BE(at + 57),
      codec,
      body: records.subarray(at + BATCH_HEADER_BYTES, end),
    })
    at = end
  }
  return out
}

/** A batch's records, decompressed (on the thread pool) when they are compressed. */
function recordsOf(batch: RecordBatch): Promise<Buffer> {
  if (batch.codec === 1) return gunzipAsync(batch.body, { chunkSize: INFLATE_CHUNK })
  if (batch.codec === 4) return zstdAsync(batch.body)
  return Promise.resolve(batch.body)
}

/**
 * Reads every record of `ranges` (per partition, `start` to before `end`) and calls `onValue` with
 * each value as UTF-8 text (null for a record without one), in offset order per partition.
 */
export async function readRanges(
  topic: string,
  ranges: readonly ReadRange[],
  onValue: (value: string | null, partition: number) => void,
  options: RangeReadOptions,
): Promise<void> {
  const byLeader = new Map<string, ReadRange[]>()
  for (const range of ranges) {
    if (range.end <= range.start) continue
    const leader = options.leaders.get(range.partition)
    if (leader === undefined) throw new Error(`no leader known for ${topic} partition ${range.partition}`)
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), range])
  }
  await Promise.all([...byLeader].map(([leader, own]) => readFromLeader(leader, topic, own, onValue, options)))
}

async function readFromLeader(
  leader: string,
  topic: string,
  ranges: readonly ReadRange[],
  onValue: (value: string | null, partition: number) => void,
  options: RangeReadOptions,
): Promise<void> {
  const next = new Map(ranges.map((range) => [range.partition, range.start]))
  const ends = new Map(ranges.map((range) => [range.partition, range.end]))
  const connection = await BrokerConnection.open(leader, options)
  try {
    let turn = 0
    while (next.size > 0) {
      if (Date.now() > options.deadline) throw new Error(`reading ${topic} did not finish in time (${next.size} partition(s) of ${leader} unfinished)`)
      // Partitions take turns at coming first, so that a batch larger than the bounds still comes whole.
      const positions = [...next].map(([partition, offset]) => ({ partition, offset }))
      const rotated = [...positions.slice(turn % positions.length), ...positions.slice(0, turn % positions.length)]
      turn += 1
      const answer = await connection.request(FETCH, FETCH_VERSION, options.clientId, fetchRequest(topic, rotated, options), options.requestTimeoutMs)
      for (const { partition, records } of parseFetchAnswer(answer, topic)) {
        const from = next.get(partition)
        const end = ends.get(partition)
        if (from === undefined || end === undefined) continue
        const reached = await readBatches(records, from, end, (value) => onValue(value, partition))
        if (reached >= end) next.delete(partition)
        else next.set(partition, reached)
      }
    }
  } finally {
    connection.close()
  }
}

/**
 * Hands over the values of `[from, end)` in a partition's answer; answers the next offset to fetch.
 * The next batch inflates while one is read: two decompressed batches at most are held at once.
 */
async function readBatches(records: Buffer, from: bigint, end: bigint, onValue: (value: string | null) => void): Promise<bigint> {
  let reached = from
  const batches = batchesOf(records).filter((batch) => batch.last >= from && batch.base < end)
  let next: Promise<Buffer> | undefined = batches[0] && !batches[0].control ? recordsOf(batches[0]) : undefined
  for (let index = 0; index < batches.length; index++) {
    const batch = batches[index] as RecordBatch
    const current = next
    const following = batches[index + 1]
    next = following && !following.control ? recordsOf(following) : undefined
    // A batch not read (the range ends first) must not reject unheard.
    next?.catch(() => undefined)
    if (batch.control || current === undefined) {
      reached = batch.last + 1n
      continue
    }
    if (readRecords(await current, batch, reached, end, onValue)) return end
    reached = batch.last + 1n
  }
  return reached > end ? end : reached
}

/** The values of one batch's records from `from` on; true when `end` was reached. */
function readRecords(data: Buffer, batch: RecordBatch, from: bigint, end: bigint, onValue: (value: string | null) => void): boolean {
  // Offsets as numbers within a batch: exact well beyond any partition's size (2^53).
  const base = Number(batch.base)
  const first = Number(from)
  const stop = Number(end)
  const cursor = new Cursor(data)
  for (let i = 0; i < batch.count && cursor.at < data.length; i++) {
    const length = cursor.varint()
    const recordEnd = cursor.at + length
    cursor.at += 1 // attributes
    cursor.skipVarint() // timestamp delta
    const offset = base + cursor.varint()
    if (offset >= stop) return true
    if (offset >= first) {
      const keyLength = cursor.varint()
      if (keyLength > 0) cursor.at += keyLength
      const valueLength = cursor.varint()
      onValue(valueLength < 0 ? null : data.toString('utf8', cursor.at, cursor.at + valueLength))
    }
    cursor.at = recordEnd
  }
  return false
}
