import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { closedPort } from './upstream-server.ts'

/** The shared test Redis (started by test/setup/global-setup.ts when needed). */
export const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix of its own for each test, so runs and files never collide. */
export function uniquePrefix(): string {
  return `ficus-test:${randomUUID()}:`
}

/** Deletes every key under a prefix. */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = new Redis(url, { lazyConnect: true })
  try {
    await client.connect()
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
  } finally {
    client.disconnect()
  }
}

export interface PrivateRedis {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM); its data stays in its directory (AOF, fsync always). */
  stop(): Promise<void>
  /** Starts it again on the same port and directory. */
  start(): Promise<void>
  destroy(): Promise<void>
}

/** A redis-server of the test's own, on a free port, persistent across stop/start, for outage tests. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await closedPort()
  const dir = await mkdtemp(join(tmpdir(), 'ficus-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' })
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on('error', () => undefined)
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error(`private redis-server on port ${port} did not start`)
  }
  const stop = async (): Promise<void> => {
    const running = child
    if (!running || running.exitCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    running.kill('SIGTERM')
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    destroy: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface TcpProxy {
  readonly port: number
  /** Drops every connection and refuses new ones: a network partition. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

/** A TCP proxy to 127.0.0.1:`target` that a test can cut and restore. */
export async function startTcpProxy(target: number): Promise<TcpProxy> {
  let cut = false
  const pairs = new Set<[Socket, Socket]>()
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy()
      return
    }
    const upstream = new Socket()
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    upstream.connect(target, '127.0.0.1', () => {
      client.pipe(upstream)
      upstream.pipe(client)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    cut: () => {
      cut = true
      for (const [a, b] of pairs) {
        a.destroy()
        b.destroy()
      }
      pairs.clear()
    },
    restore: () => {
      cut = false
    },
    close: async () => {
      cut = true
      for (const [a, b] of pairs) {
        a.destroy()
        b.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
