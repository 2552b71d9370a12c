import { execFileSync } from 'node:child_process'
import { Redis } from 'ioredis'
import type { TestProject } from 'vitest/node'
import { kafkaDistribution, startKafkaBroker, type KafkaDistribution } from '../kafka/kafka-broker.ts'
import { until } from '../helpers/wait.ts'

// The suite's real peers. Redis: the server on 127.0.0.1:6379 (REDIS_TEST_URL to point elsewhere),
// started here with the project's documented command when it is not running. Kafka: a single-node
// KRaft broker from jars Maven resolves (test/kafka), started for the run and stopped after it.
const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379'

async function redisAnswers(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * A fresh Debian machine may lack a package the suite runs (redis-server; chromium for the browser
 * tests): install it from Debian's repository when we may (root, apt-get) — never a browser download.
 */
function installWhenMissing(command: string, debianPackage: string): void {
  if (commandExists(command)) return
  if (process.getuid?.() !== 0 || !commandExists('apt-get')) {
    throw new Error(`${command} is not installed; install it (Debian: apt-get install ${debianPackage})`)
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', debianPackage], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the suite's Kafka broker. */
    kafkaBrokers: string
    /** The broker's release and classpath, for tests that start one of their own (outages). */
    kafkaDistribution: KafkaDistribution
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  installWhenMissing('chromium', 'chromium')
  const distribution = await kafkaDistribution()
  const [broker] = await Promise.all([startKafkaBroker({ distribution }), ensureRedis()])
  project.provide('kafkaBrokers', broker.brokers)
  project.provide('kafkaDistribution', distribution)
  return () => broker.destroy()
}

async function ensureRedis(): Promise<void> {
  // The outage tests run a redis-server of their own, so the binary is needed even when 6379 answers.
  installWhenMissing('redis-server', 'redis-server')
  if (await redisAnswers()) return
  if (process.env.REDIS_TEST_URL !== undefined) throw new Error(`REDIS_TEST_URL=${REDIS_URL} does not answer PING`)
  try {
    execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  } catch (err) {
    throw new Error(
      `Redis is not running on 127.0.0.1:6379 and redis-server could not be started (${(err as Error).message}); install it (Debian: apt-get install redis-server)`,
      { cause: err },
    )
  }
  await until(redisAnswers, 'redis-server, once started, to answer on 127.0.0.1:6379', { timeoutMs: 5_000, intervalMs: 100 })
}
