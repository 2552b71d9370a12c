import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import { JsonlSink } from '../../src/publish/jsonl-sink.ts'
import { startBlackholeBroker, type BlackholeBroker } from '../helpers/blackhole-broker.ts'
import { drive, outboxRequestIds, scrape, signalAndWait, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { until } from '../helpers/wait.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { ROOT, spawnNode } from '../helpers/processes.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

// Issue 14, point 4: SIGKILL a gateway while Kafka is unreachable, restart it with a live broker,
// and account for every comparison: delivered, or counted as lost by the restart — never neither.

const liveBrokers = inject('kafkaBrokers')
const upstreams = upstreamPair()
const SENT = 25
let dir: string
let hole: BlackholeBroker | undefined
let reader: TopicReader | undefined
const processes: GatewayProcess[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-crash-'))
})
afterEach(async () => {
  for (const gateway of processes.splice(0))
    if (gateway.spawned.child.exitCode === null && gateway.spawned.child.signalCode === null) gateway.spawned.child.kill('SIGKILL')
  await reader?.close()
  reader = undefined
  await hole?.close()
  hole = undefined
  await rm(dir, { recursive: true, force: true })
})

async function gatewayProcess(env: NodeJS.ProcessEnv): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess({ dir, legacyUrl: upstreams.legacy.url, modernUrl: upstreams.modern.url, shutdownTimeoutMs: 1_000, env })
  processes.push(gateway)
  return gateway
}

function logLines(gateway: GatewayProcess): Record<string, unknown>[] {
  return gateway.spawned
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Every comparison the topic received after the restart: distinct request ids, once `expected` are in and a moment more passed. */
async function delivered(topic: string, expected: number): Promise<Set<string>> {
  reader = await readTopics(liveBrokers, [topic])
  await reader.until((messages) => new Set(messages.map((m) => m.value.requestId)).size >= expected, `${expected} comparisons`, 60_000)
  // Anything beyond would show up now (it must not: it would be a comparison counted as lost that arrived).
  await sleep(1_000)
  return new Set(reader.messages.map((m) => String(m.value.requestId)))
}

describe('a crash while the broker is unreachable', () => {
  it('buffered (default): what arrives plus the lost count the restart reports is every comparison sent', async () => {
    hole = await startBlackholeBroker()
    const topics = uniqueTopics(liveBrokers)
    // Ten records at most in memory; no time-based flush within the test.
    const env = { ...topics.env, FICUS_EVENTS_FLUSH_RECORDS: '10', FICUS_EVENTS_FLUSH_MS: '600000' }
    const first = await gatewayProcess({ ...env, KAFKA_BROKERS: hole.brokers })
    const sent = await drive(first, 'crash', SENT)
    let metrics = new Map<string, number>()
    const inSink = (): number =>
      (metrics.get('ficus_event_sink_records_spilled_total{sink="kafka"}') ?? 0) + (metrics.get('ficus_event_sink_records_buffered{sink="kafka"}') ?? 0)
    await until(
      async () => {
        metrics = await scrape(first)
        return inSink() === SENT
      },
      'every comparison to reach the sink',
      { timeoutMs: 20_000 },
    )
    const bufferedAtKill = metrics.get('ficus_event_sink_records_buffered{sink="kafka"}') ?? -1
    expect((await signalAndWait(first, 'SIGKILL')).signal).toBe('SIGKILL')

    const second = await gatewayProcess(env)
    const lostLine = logLines(second).find((line) => String(line.msg).startsWith('events lost'))
    const lost = Number(lostLine?.lost ?? 0)
    const arrived = await delivered(topics.comparisons, SENT - lost)
    console.info(`SIGKILL, buffered: ${SENT} sent, ${bufferedAtKill} in memory at the kill, ${arrived.size} delivered after the restart, ${lost} reported lost`)
    expect([...arrived].filter((id) => !sent.includes(id))).toEqual([])
    expect(arrived.size + lost).toBe(SENT)
    expect(lost).toBe(bufferedAtKill)
    expect(lost).toBeGreaterThan(0)
    expect(lost).toBeLessThanOrEqual(10)
    expect((await signalAndWait(second, 'SIGTERM')).code).toBe(0)
  }, 120_000)

  it('write-ahead: every comparison is on disk before it counts, and every one arrives', async () => {
    hole = await startBlackholeBroker()
    const topics = uniqueTopics(liveBrokers)
    const env = { ...topics.env, FICUS_EVENTS_DURABILITY: 'write-ahead' }
    const first = await gatewayProcess({ ...env, KAFKA_BROKERS: hole.brokers })
    const sent = await drive(first, 'wal', SENT)
    await until(async () => (await outboxRequestIds(join(first.dataDir, 'outbox'))).length === SENT, 'every comparison in the outbox', { timeoutMs: 20_000 })
    expect((await scrape(first)).get('ficus_event_sink_records_buffered{sink="kafka"}')).toBe(0)
    expect((await signalAndWait(first, 'SIGKILL')).signal).toBe('SIGKILL')

    const second = await gatewayProcess(env)
    expect(logLines(second).filter((line) => String(line.msg).startsWith('events lost'))).toEqual([])
    const arrived = await delivered(topics.comparisons, SENT)
    console.info(`SIGKILL, write-ahead: ${SENT} sent, ${arrived.size} delivered after the restart`)
    expect(arrived).toEqual(new Set(sent))
    expect((await signalAndWait(second, 'SIGTERM')).code).toBe(0)
  }, 120_000)

  it('JSONL: a restart counts the records a crash lost while the disk refused them', async () => {
    const sinkDir = join(dir, 'comparisons')
    // The current file's place is taken by a directory: every append fails, records wait in memory.
    await mkdir(join(sinkDir, 'comparisons.jsonl'), { recursive: true })
    const script = join(dir, 'crash.ts')
    await writeFile(
      script,
      [
        `import { JsonlSink } from ${JSON.stringify(join(ROOT, 'src/publish/jsonl-sink.ts'))}`,
        `import { createLogger } from ${JSON.stringify(join(ROOT, 'src/observability/logger.ts'))}`,
        `const sink = new JsonlSink({ dir: ${JSON.stringify(sinkDir)}, logger: createLogger({ level: 'silent' }) })`,
        `for (let n = 0; n < 7; n++) sink.write({ requestId: 'r-' + n })`,
        `setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200)`,
        '',
      ].join('\n'),
    )
    const crashed = await spawnNode(['--import', 'tsx', script]).finished
    expect(crashed.signal).toBe('SIGKILL')
    await rm(join(sinkDir, 'comparisons.jsonl'), { recursive: true })

    const { logger, lines } = capturingLogger()
    const restarted = new JsonlSink({ dir: sinkDir, logger })
    expect(restarted.stats()).toMatchObject({ lost: 7, written: 0 })
    expect(lines.filter((line) => String(line.msg).startsWith('events lost')).map((line) => line.lost)).toEqual([7])
    await restarted.close()
    // Reported once: the next start owes nothing.
    const again = new JsonlSink({ dir: sinkDir, logger })
    expect(again.stats().lost).toBe(0)
    await again.close()
  })
})
