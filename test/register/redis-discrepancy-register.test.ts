import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import type { DiscrepancyEntry } from '../../src/register/discrepancy-register.ts'
import { signatureOf } from '../../src/register/discrepancy-signature.ts'
import { FileDiscrepancyRegister } from '../../src/register/file-discrepancy-register.ts'
import { RedisDiscrepancyRegister, type RedisRegisterOptions } from '../../src/register/redis-discrepancy-register.ts'
import { ficusErrorCode } from '../helpers/errors.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { dropPrefix, REDIS_URL, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.ts'
import { closedPort } from '../helpers/upstream-server.ts'
import { until } from '../helpers/wait.ts'

const T0 = Date.parse('2025-03-01T10:00:00.000Z')

/** Four signatures over two slices and three families. */
const KINDS = [
  { category: 'body-mismatch', slice: 'coverage-status', diffPaths: ['/status'] },
  { category: 'body-mismatch', slice: 'coverage-status', diffPaths: ['/items/0/amount', '/items/3/amount'] },
  { category: 'untranslated', slice: 'billing-eligibility', untranslated: [{ path: '/code', value: 'X9' }] },
  { category: 'rule-violation', slice: 'billing-eligibility', violations: [{ path: '/policyNumber', rule: 'required' }] },
] as const

/** The n-th comparison of a test: request time T0 + n s, request id `req-n`, one of the signatures above. */
function differing(n: number, options: { kind?: number; entity?: string | null; rules?: string; paths?: string[] } = {}): Comparison {
  const kind = KINDS[options.kind ?? n % KINDS.length]!
  return {
    ...comparison({
      ...kind,
      ...(options.paths ? { category: 'body-mismatch', slice: 'coverage-status', diffPaths: options.paths } : {}),
      eventTime: new Date(T0 + n * 1_000),
      requestId: `req-${n}`,
      rulesHash: options.rules ?? 'sha256:rules-1',
    }),
    entityKey: options.entity === undefined ? null : options.entity,
  }
}

const idOf = (record: Comparison): string => signatureOf(record)!.id

let prefix: string
let captured: ReturnType<typeof capturingLogger>
const registers: RedisDiscrepancyRegister[] = []
const servers: PrivateRedis[] = []

beforeEach(() => {
  prefix = uniquePrefix()
  captured = capturingLogger()
})
afterEach(async () => {
  for (const server of servers) server.thaw()
  await Promise.all(registers.splice(0).map((register) => register.close()))
  await Promise.all(servers.splice(0).map((server) => server.destroy()))
  await dropPrefix(prefix)
})

async function open(options: Partial<RedisRegisterOptions> = {}): Promise<RedisDiscrepancyRegister> {
  const register = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix, logger: captured.logger, flushIntervalMs: 10, ...options })
  registers.push(register)
  await register.open()
  return register
}

/** Whether the register reads from Redis. */
async function readable(register: RedisDiscrepancyRegister): Promise<boolean> {
  try {
    await register.list({ limit: 1 })
    return true
  } catch {
    return false
  }
}

/** The entry, or undefined while Redis cannot be read. */
async function tryGet(register: RedisDiscrepancyRegister, id: string): Promise<DiscrepancyEntry | undefined> {
  try {
    return await register.get(id)
  } catch {
    return undefined
  }
}

describe('redis discrepancy register', () => {
  it('two instances writing the same keys at once hold what one file register fed the same comparisons holds', async () => {
    const a = await open()
    const b = await open()
    const file = new FileDiscrepancyRegister({ file: join(tmpdir(), `ficus-unwritten-${randomUUID()}.json`), logger: captured.logger })
    const rules = (n: number): string => (n < 30 ? 'sha256:rules-1' : n < 45 ? 'sha256:rules-2' : n % 2 === 0 ? 'sha256:rules-1' : 'sha256:rules-3')
    const records = Array.from({ length: 60 }, (_, n) => differing(n, { entity: n % 5 === 4 ? null : `entity-${n % 3}-${n % 2}`, rules: rules(n) }))
    for (let start = 0; start < records.length; start += 7) {
      records.slice(start, start + 7).forEach((record, index) => {
        file.record(record)
        // One comparison reaches both instances (and the file register twice); the others one each, in turn.
        if (record.requestId === 'req-57') {
          file.record(record)
          a.record(record)
          b.record(record)
        } else (index % 2 === 0 ? a : b).record(record)
      })
      a.record(comparison({ category: 'match' }))
      await Promise.all([a.flush(), b.flush()])
    }
    await Promise.all([a.flush(), b.flush()])

    const expected = await file.list({ limit: 100 })
    expect(expected).toHaveLength(4)
    expect(await a.list({ limit: 100 })).toEqual(expected)
    expect(await b.list({ limit: 100 })).toEqual(expected)
    for (const entry of expected) expect(await b.get(entry.id)).toEqual(entry)
    expect(expected.map((entry) => entry.count).reduce((x, y) => x + y)).toBe(61)
    expect(expected.find((entry) => entry.id === idOf(records[57]!))?.examples.filter((id) => id === 'req-57')).toHaveLength(1)
    expect(await a.list({ family: 'genuine-conflict', limit: 100 })).toEqual(await file.list({ family: 'genuine-conflict', limit: 100 }))
    expect(await a.list({ slice: 'billing-eligibility', limit: 1 })).toEqual(await file.list({ slice: 'billing-eligibility', limit: 1 }))
    expect(await a.get('0000000000000000')).toBeUndefined()
    expect(a.stats().recorded + b.stats().recorded).toBe(61)
    expect(a.stats()).toMatchObject({ signatures: 4, evicted: 0 })
  })

  it('keeps to its bound by dropping the signatures seen least recently, keys and all', async () => {
    const register = await open({ maxSignatures: 3, flushIntervalMs: 60_000 })
    const records = [1, 2, 3, 4, 5].map((n) => differing(n, { paths: [`/field${n}`] }))
    for (const record of records) register.record(record)
    await register.flush()
    expect((await register.list({ limit: 10 })).map((entry) => entry.id)).toEqual([records[4], records[3], records[2]].map((record) => idOf(record!)))
    expect(register.stats()).toEqual({ signatures: 3, recorded: 5, evicted: 2 })

    register.record(differing(6, { paths: ['/field1'] }))
    await register.flush()
    expect((await register.list({ limit: 10 })).map((entry) => entry.id)).toEqual([records[0], records[4], records[3]].map((record) => idOf(record!)))
    expect(await register.get(idOf(records[0]!))).toMatchObject({ count: 1, firstSeen: new Date(T0 + 6_000).toISOString() })
    expect(register.stats()).toEqual({ signatures: 3, recorded: 6, evicted: 3 })

    const raw = new Redis(REDIS_URL)
    try {
      for (const gone of [records[1]!, records[2]!]) expect(await raw.keys(`${prefix}register:*${idOf(gone)}`)).toEqual([])
    } finally {
      raw.disconnect()
    }
  })

  it('keeps recording while Redis is down, refuses reads, and writes every comparison once when it is back', async () => {
    const server = await startPrivateRedis()
    servers.push(server)
    const register = await open({ url: server.url, flushIntervalMs: 20 })
    const [first, second, third] = [0, 1, 2].map((kind) => idOf(differing(0, { kind }))) as [string, string, string]
    for (let n = 0; n < 5; n++) register.record(differing(n, { kind: n < 3 ? 0 : 1, entity: `entity-${n}` }))
    await until(async () => (await tryGet(register, second))?.count === 2, 'the first comparisons in Redis')

    await server.stop()
    for (let n = 5; n < 9; n++) expect(() => register.record(differing(n, { kind: n < 7 ? 0 : 2, entity: `entity-${n}` }))).not.toThrow()
    expect(await ficusErrorCode(register.list({ limit: 10 }))).toBe('FICUS_ERR_REGISTER_UNAVAILABLE')
    expect(await ficusErrorCode(register.get(first))).toBe('FICUS_ERR_REGISTER_UNAVAILABLE')

    await server.start()
    await until(async () => (await tryGet(register, third))?.count === 2, 'the comparisons held during the outage in Redis')
    await register.close()

    const reader = await open({ url: server.url })
    expect(await reader.get(first)).toMatchObject({
      count: 5,
      entities: 5,
      firstSeen: new Date(T0).toISOString(),
      lastSeen: new Date(T0 + 6_000).toISOString(),
      examples: ['req-6', 'req-5', 'req-2', 'req-1', 'req-0'],
    })
    expect((await reader.list({ limit: 10 })).map((entry) => [entry.id, entry.count])).toEqual([
      [third, 2],
      [first, 5],
      [second, 2],
    ])
    expect(register.stats()).toMatchObject({ recorded: 9, evicted: 0 })
  })

  it('does not count twice a batch Redis applied but whose reply was lost', async () => {
    const server = await startPrivateRedis()
    servers.push(server)
    const register = await open({ url: server.url, flushIntervalMs: 60_000 })
    for (let n = 0; n < 3; n++) register.record(differing(n, { kind: 0 }))
    server.freeze()
    // The script waits in the socket, the command times out (2 s): the batch stays pending.
    await register.flush()
    expect(captured.lines.some((line) => String(line.msg).includes('could not write to Redis'))).toBe(true)
    server.thaw()
    await until(async () => (await tryGet(register, idOf(differing(0, { kind: 0 }))))?.count === 3, 'the batch applied once Redis runs again')
    await register.flush()
    expect(await register.get(idOf(differing(0, { kind: 0 })))).toMatchObject({ count: 3 })
  })

  it('drops comparisons of new signatures past maxPending while Redis is away, counted as evicted', async () => {
    const register = await open({ url: `redis://127.0.0.1:${await closedPort()}`, maxPending: 2 })
    for (let n = 0; n < 3; n++) register.record(differing(n, { kind: n }))
    register.record(differing(3, { kind: 0 }))
    expect(register.stats()).toEqual({ signatures: 0, recorded: 3, evicted: 1 })
    expect(captured.lines.some((line) => String(line.msg).includes('dropped'))).toBe(true)
  })

  it('closes within about two seconds when Redis is dead or frozen', async () => {
    const server = await startPrivateRedis()
    servers.push(server)
    const dead = await open({ url: server.url, flushIntervalMs: 60_000 })
    const frozen = await open({ url: server.url, flushIntervalMs: 60_000 })
    dead.record(differing(0))

    await server.stop()
    let started = performance.now()
    await dead.close()
    expect(performance.now() - started).toBeLessThan(2_000)

    await server.start()
    await until(() => readable(frozen), 'the second register to reconnect')
    frozen.record(differing(1))
    server.freeze()
    started = performance.now()
    await frozen.close()
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(captured.lines.filter((line) => String(line.msg).includes('closed with comparisons')).map((line) => line.comparisons)).toEqual([1, 1])
  })
})
