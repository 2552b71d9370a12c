import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { requirePeer } from './peers.ts'
import { closedPort } from './upstream-server.ts'
import { until } from './wait.ts'

requirePeer('Redis')

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
  /** SIGKILL: no chance to write anything more. */
  kill(): Promise<void>
  /** SIGSTOP: connections stay open, nothing is answered until `thaw`. */
  freeze(): void
  thaw(): void
  /** Stops it, copies its data aside as a save point, starts it again. */
  save(): Promise<void>
  /** Restarts it from the last save point: everything written since is gone (an older save, a lagging replica). */
  restartFromSave(): Promise<void>
  /** Restarts it with no data at all (a restart without persistence). */
  restartEmpty(): Promise<void>
  destroy(): Promise<void>
}

/** A redis-server of the test's own, on a free port, persistent across stop/start, for outage tests. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await closedPort()
  const root = await mkdtemp(join(tmpdir(), 'ficus-redis-'))
  const dir = join(root, 'data')
  const saved = join(root, 'saved')
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    await mkdir(dir, { recursive: true })
    child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
      { stdio: 'ignore' },
    )
    // A fresh client per attempt, each closed after it: a reused one left in its "end" state can
    // reject a pending internal command ("Connection is closed") after the wait has moved on.
    await until(
      async () => {
        const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false })
        probe.on('error', () => undefined)
        try {
          await probe.connect()
          await probe.ping()
          return true
        } catch {
          return false
        } finally {
          probe.disconnect()
        }
      },
      `the private redis-server on port ${port} to start`,
      { timeoutMs: 5_000, intervalMs: 50 },
    )
  }
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    running.kill(signal)
    await exited
  }
  const stop = (): Promise<void> => end('SIGTERM')
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    kill: () => end('SIGKILL'),
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    save: async () => {
      await stop()
      await rm(saved, { recursive: true, force: true })
      await cp(dir, saved, { recursive: true })
      await start()
    },
    restartFromSave: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
      await cp(saved, dir, { recursive: true })
      await start()
    },
    restartEmpty: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
      await start()
    },
    destroy: async () => {
      await stop()
      await rm(root, { recursive: true, force: true })
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
