import { connect as connectTcp, isIP, type Socket } from 'node:net'
import { connect as connectTls, type ConnectionOptions } from 'node:tls'

/** Keep-alive probes on broker connections, as kafkajs's own socket factory sets them. */
const KEEP_ALIVE_DELAY_MS = 60_000
/** How long a connection we ended may wait for the broker's FIN before we close it ourselves. */
export const DEFAULT_END_GRACE_MS = 1_000

export interface SocketRequest {
  readonly host: string
  readonly port: number
  /** kafkajs passes `null` (or nothing) for plain TCP. */
  readonly ssl?: ConnectionOptions | boolean | null
  readonly onConnect: () => void
}

/**
 * Every broker connection of one client object (a producer, an admin, a consumer), so that closing
 * it really releases them (issue 14). kafkajs "disconnects" with `socket.end()` and `unref()`: against a
 * broker that never answers, or is frozen, the FIN is never returned, so each such connection kept
 * its file descriptor; a connection left behind by a failed connect also kept kafkajs's request
 * timer (a ref'd interval), and with it the process. Here an ended socket is destroyed after a
 * grace period, and `destroyAll` closes whatever is left — with an error, which is the one event
 * that makes kafkajs fail the requests still waiting on the connection and stop its timer.
 */
export class SocketTracker {
  readonly #sockets = new Set<Socket>()
  readonly #endGraceMs: number
  #closed = false

  constructor(options: { endGraceMs?: number } = {}) {
    this.#endGraceMs = options.endGraceMs ?? DEFAULT_END_GRACE_MS
  }

  /** Connections open now (destroyed ones no longer count: their descriptor is being closed). */
  get open(): number {
    let open = 0
    for (const socket of this.#sockets) if (!socket.destroyed) open += 1
    return open
  }

  /** Closed, and every connection gone: nothing of it is left. */
  get released(): boolean {
    return this.#closed && this.open === 0
  }

  /** Opens a connection (kafkajs's socket factory contract); after `destroyAll`, one that fails at once. */
  readonly connect = ({ host, port, ssl, onConnect }: SocketRequest): Socket => {
    const socket =
      ssl === undefined || ssl === null || ssl === false
        ? connectTcp({ host, port }, onConnect)
        : connectTls({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...(ssl === true ? {} : ssl) }, onConnect)
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS)
    if (this.#closed) {
      // A retry scheduled before the client closed: it must not open a connection that nobody owns.
      process.nextTick(() => socket.destroy(new Error('Kafka client closed')))
      return socket
    }
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    const end = socket.end.bind(socket)
    socket.end = ((...args: Parameters<Socket['end']>) => {
      const result = end(...args)
      const timer = setTimeout(() => socket.destroy(), this.#endGraceMs)
      timer.unref()
      socket.once('close', () => clearTimeout(timer))
      return result
    }) as Socket['end']
    return socket
  }

  /** Closes every connection now, and every one opened later. */
  destroyAll(reason = 'Kafka client closed'): void {
    this.#closed = true
    for (const socket of this.#sockets) socket.destroy(new Error(reason))
  }
}
