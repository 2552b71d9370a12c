import { spawn } from 'node:child_process'
import { readdir, readlink } from 'node:fs/promises'
import { createInterface } from 'node:readline'

/**
 * The blackhole, run in a process of its own (so its sockets are not counted with the client's):
 * it accepts every connection on 127.0.0.1, reads and discards what comes, and never answers —
 * not even a client's FIN (allowHalfOpen), as a hung broker would not. It reports on stdout, as
 * JSON lines, its port and then its counts whenever they change.
 */
const SCRIPT = `
const { createServer } = require('node:net')
let accepted = 0
let ended = 0
const report = () => process.stdout.write(JSON.stringify({ accepted, ended }) + '\\n')
const server = createServer({ allowHalfOpen: true }, (socket) => {
  accepted += 1
  report()
  socket.on('data', () => undefined)
  socket.on('error', () => undefined)
  socket.once('end', () => { ended += 1; report() })
})
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
`

/** A TCP server that accepts connections and never answers: a Kafka broker that hangs (issue 14). */
export interface BlackholeBroker {
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS. */
  readonly brokers: string
  readonly port: number
  /** Connections accepted since start. */
  readonly accepted: number
  /** Connections the client has not closed (no FIN received yet). */
  readonly open: number
  close(): Promise<void>
}

export async function startBlackholeBroker(): Promise<BlackholeBroker> {
  // stdin is the lifeline: when the test process dies, the blackhole exits with it.
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] })
  let accepted = 0
  let ended = 0
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the blackhole broker exited (${String(code)})`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { port?: number; accepted?: number; ended?: number }
      if (message.port !== undefined) resolve(message.port)
      if (message.accepted !== undefined) accepted = message.accepted
      if (message.ended !== undefined) ended = message.ended
    })
  })
  return {
    brokers: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted
    },
    get open() {
      return accepted - ended
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** Open file descriptors of a process, and how many of them are sockets (Linux: /proc/<pid>/fd). */
export async function openFds(pid: number = process.pid): Promise<{ fds: number; sockets: number }> {
  const entries = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
  let sockets = 0
  for (const entry of entries) {
    const target = await readlink(`/proc/${pid}/fd/${entry}`).catch(() => '')
    if (target.startsWith('socket:')) sockets += 1
  }
  return { fds: entries.length, sockets }
}
