import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import { sampleConfig } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics, type TopicReader } from '../helpers/kafka.ts'
import { FICUS_BIN, spawnNode, type Spawned } from '../helpers/processes.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

// `ficus start --workers 2` publishing to Kafka: each worker is a publisher with an outbox of its
// own, and every request's comparison reaches the topic once.

const brokers = inject('kafkaBrokers')
const upstreams = upstreamPair()
let dir: string
let spawned: Spawned | undefined
let reader: TopicReader | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-workers-kafka-'))
})
afterEach(async () => {
  if (spawned && spawned.child.exitCode === null && spawned.child.signalCode === null) {
    spawned.child.kill('SIGKILL')
    await spawned.finished
  }
  spawned = undefined
  await reader?.close()
  reader = undefined
  await rm(dir, { recursive: true, force: true })
})

describe('ficus start --workers 2 with Kafka', () => {
  it('publishes every comparison once, each worker through its own outbox', async () => {
    const topics = uniqueTopics(brokers)
    const config = sampleConfig(upstreams.legacy.url, upstreams.modern.url, { gateway: { shutdownTimeoutMs: 5_000 } })
    config.slices['policy-status']!.shadow = {}
    const file = join(dir, 'routes.config.ts')
    await writeFile(file, `export default ${JSON.stringify(config)}\n`)
    const dataDir = join(dir, 'data')
    spawned = spawnNode([FICUS_BIN, 'start', '--config', file, '--workers', '2'], {
      PORT: '0',
      HOST: '127.0.0.1',
      FICUS_DATA_DIR: dataDir,
      FICUS_INSTANCE_ID: 'gw-kafka',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...topics.env,
    })
    const listening = await spawned.logLine('workers listening', 90_000)
    const url = String(listening.url)
    const ids: string[] = []
    for (let start = 0; start < 200; start += 20) {
      const batch = Array.from({ length: 20 }, async (_, i) => {
        const id = `kafka-${start + i}`
        const response = await send(`${url}/policy/P-${start + i}/status`, { headers: { 'x-request-id': id } })
        expect(response.status).toBe(200)
        return id
      })
      ids.push(...(await Promise.all(batch)))
    }
    reader = await readTopics(brokers, [topics.comparisons])
    await reader.until((messages) => messages.length >= 200, 'every comparison on the topic')
    const values = reader.messages.map((message) => message.value as { eventId: string; requestId: string; instance: string })
    expect(values).toHaveLength(200)
    expect(new Set(values.map((value) => value.eventId)).size).toBe(200)
    expect(new Set(values.map((value) => value.requestId))).toEqual(new Set(ids))
    // Both workers published, each as an instance of its own.
    expect(new Set(values.map((value) => value.instance))).toEqual(new Set(['gw-kafka-w1', 'gw-kafka-w2']))
    expect((await readdir(dataDir)).filter((name) => name.startsWith('outbox')).sort()).toEqual(['outbox', 'outbox-w2'])
    spawned.child.kill('SIGTERM')
    expect((await spawned.finished).code).toBe(0)
  }, 180_000)
})
