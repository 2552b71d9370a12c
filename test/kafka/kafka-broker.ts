import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { requirePeer } from '../helpers/peers.ts'
import { until } from '../helpers/wait.ts'

const run = promisify(execFile)
const POM = fileURLToPath(new URL('./pom.xml', import.meta.url))
const START_TIMEOUT_MS = 90_000
const STOP_TIMEOUT_MS = 20_000

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS. */
  readonly brokers: string
  readonly version: string
  readonly dir: string
  pid(): number | undefined
  /** Stops the broker (SIGTERM, then SIGKILL after 20 s); its log directory stays. */
  stop(): Promise<void>
  /** Starts it again on the same ports and log directory. */
  start(): Promise<void>
  /** Stops it and removes its directory. */
  destroy(): Promise<void>
  /**
   * Freezes the broker JVM (SIGSTOP): its connections stay open and the kernel still accepts new
   * ones, but nothing is answered — a hung broker. `thaw` (SIGCONT) lets it go on.
   */
  freeze(): void
  thaw(): void
}

/** `count` distinct free ports: all held open at once, so none is handed out twice, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer())
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))))
  const ports = servers.map((server) => (server.address() as { port: number }).port)
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  return ports
}

/** The Kafka release the suite runs against (see README.md); FICUS_TEST_KAFKA_VERSION picks another. */
export const DEFAULT_KAFKA_VERSION = '3.9.1'

/** A Kafka release resolved by Maven: its version and the classpath its broker runs from. */
export interface KafkaDistribution {
  readonly version: string
  readonly classpath: string
}

/** 4.x logs through log4j2; 3.x through the log4j 1 API (reload4j). */
function usesLog4j2(version: string): boolean {
  return Number(version.split('.')[0]) >= 4
}

/** The broker's classpath, resolved by Maven (downloaded once into the local repository). */
export async function kafkaDistribution(version = process.env.FICUS_TEST_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION): Promise<KafkaDistribution> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`FICUS_TEST_KAFKA_VERSION must be a Kafka release such as 3.9.1 or 4.1.1 (got "${version}")`)
  const out = join(tmpdir(), `ficus-kafka-classpath-${process.pid}-${randomBytes(4).toString('hex')}.txt`)
  const profile = usesLog4j2(version) ? ['-Dkafka4'] : []
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        POM,
        `-Dkafka.version=${version}`,
        ...profile,
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath',
        `-Dmdep.outputFile=${out}`,
      ],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    )
    return { version, classpath: (await readFile(out, 'utf8')).trim() }
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string }
    throw new Error(`Maven could not resolve the Kafka broker (test/kafka/pom.xml): ${(stderr ?? '') + (stdout ?? '') || (err as Error).message}`, {
      cause: err,
    })
  } finally {
    await rm(out, { force: true })
  }
}

/** The broker's logging: a file in its directory, INFO from the broker, WARN from the rest. */
async function writeLogConfig(dir: string, file: string, log4j2: boolean): Promise<string> {
  if (log4j2) {
    const config = join(dir, 'log4j2.properties')
    await writeFile(
      config,
      [
        'appender.file.type=File',
        'appender.file.name=file',
        `appender.file.fileName=${file}`,
        'appender.file.layout.type=PatternLayout',
        'appender.file.layout.pattern=[%d] %p %m (%c)%n',
        'rootLogger.level=INFO',
        'rootLogger.appenderRef.file.ref=file',
        'logger.clients.name=org.apache.kafka',
        'logger.clients.level=WARN',
        '',
      ].join('\n'),
    )
    return `-Dlog4j2.configurationFile=${config}`
  }
  const config = join(dir, 'log4j.properties')
  await writeFile(
    config,
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${file}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=WARN',
      '',
    ].join('\n'),
  )
  return `-Dlog4j.configuration=file:${config}`
}

/** A Kafka cluster id: 16 random bytes, base64url without padding. */
function clusterId(): string {
  return randomBytes(16).toString('base64url')
}

/**
 * Starts a single-node KRaft broker (broker and controller in one JVM) on 127.0.0.1 with free
 * ports and a fresh log directory, and waits until a client can describe the cluster.
 */
export async function startKafkaBroker(options: { distribution?: KafkaDistribution; heapMb?: number } = {}): Promise<KafkaBroker> {
  requirePeer('Kafka')
  const { version, classpath } = options.distribution ?? (await kafkaDistribution())
  const dir = await mkdtemp(join(tmpdir(), 'ficus-kafka-'))
  // Asked one after the other, the two could be the same port (the first one released already).
  const [port, controllerPort] = (await freePorts(2)) as [number, number]
  const logs = join(dir, 'logs')
  await mkdir(logs)
  const properties = join(dir, 'server.properties')
  await writeFile(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      'log.cleaner.dedupe.buffer.size=8388608',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  )
  const java = ['-cp', classpath, await writeLogConfig(dir, join(logs, 'broker.log'), usesLog4j2(version))]
  try {
    // `--cluster-id=<id>`: an id may start with "-", which the tool would take for an option.
    await run('java', [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      ...java,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId()}`,
      `--config=${properties}`,
      '--ignore-formatted',
    ])
  } catch (err) {
    throw new Error(`formatting the Kafka log directory failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err })
  }

  let child: ChildProcess | undefined
  let frozen = false
  const brokers = `127.0.0.1:${port}`
  const start = async (): Promise<void> => {
    const heap = `${options.heapMb ?? 512}m`
    child = spawn(
      'java',
      [`-Xms128m`, `-Xmx${heap}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', ...java, 'kafka.Kafka', properties],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    const started = child
    // Never leave a JVM behind when the test process dies without its tear-down.
    const orphanGuard = (): void => {
      started.kill('SIGKILL')
    }
    process.once('exit', orphanGuard)
    frozen = false
    child.once('exit', () => process.removeListener('exit', orphanGuard))
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)))
    await waitUntilServing(
      brokers,
      () => started.exitCode !== null,
      () => `broker exited (${String(started.exitCode)}): ${stderr}; see ${join(logs, 'broker.log')}`,
    )
  }
  const stop = async (): Promise<void> => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    // A stopped process does not act on SIGTERM until it runs again.
    if (frozen) running.kill('SIGCONT')
    frozen = false
    running.kill('SIGTERM')
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }
  await start()
  return {
    brokers,
    version,
    dir,
    pid: () => child?.pid,
    stop,
    start,
    destroy: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
    freeze: () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error('the broker is not running')
      child.kill('SIGSTOP')
      frozen = true
    },
    thaw: () => {
      if (!frozen) return
      child?.kill('SIGCONT')
      frozen = false
    },
  }
}

async function waitUntilServing(brokers: string, exited: () => boolean, why: () => string): Promise<void> {
  const kafka = createKafkaClient({ clientId: 'ficus-test-probe', brokers: [brokers], retry: { retries: 0 }, connectionTimeoutMs: 1_000 })
  await until(
    async () => {
      if (exited()) throw new Error(why())
      try {
        const admin = await kafka.admin()
        try {
          return (await admin.describeCluster()).brokers > 0
        } finally {
          await admin.close().catch(() => undefined)
        }
      } catch {
        return false // not up yet
      }
    },
    () => `the Kafka broker on ${brokers} to serve: ${why()}`,
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 },
  )
}
