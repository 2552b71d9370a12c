import { connect, type Socket } from 'node:net'

export interface RawAnswer {
  /** 0 when the connection closed without an answer. */
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  /** Milliseconds from the first byte sent to the end of the answer (or the close). */
  readonly ms: number
  readonly closed: boolean
}

/** Parses one HTTP/1.1 answer out of the bytes received so far; undefined while incomplete. */
export function parseAnswer(text: string): { status: number; headers: Record<string, string>; body: string } | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = text.slice(end + 4)
  const length = headers['content-length']
  if (length !== undefined && Buffer.byteLength(body) < Number(length)) return undefined
  return { status, headers, body: length === undefined ? body : body.slice(0, Number(length)) }
}

/**
 * Speaks raw bytes to a server: writes `chunks` (strings or buffers, optionally spaced by
 * `gapMs`), then reads until one full answer or the close, bounded by `timeoutMs`.
 */
export function rawExchange(port: number, chunks: readonly (string | Buffer)[], options: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1')
    const started = Date.now()
    let received = ''
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      const parsed = parseAnswer(received)
      socket.destroy()
      resolve({ status: parsed?.status ?? 0, headers: parsed?.headers ?? {}, body: parsed?.body ?? '', ms: Date.now() - started, closed })
    }
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000)
    socket.on('data', (data: Buffer) => {
      received += data.toString('utf8')
      if (parseAnswer(received)) finish(false)
    })
    socket.on('close', () => finish(true))
    socket.on('error', () => finish(true))
    void (async () => {
      for (const chunk of chunks) {
        if (done || socket.destroyed) return
        socket.write(chunk)
        if (options.gapMs) await new Promise((wait) => setTimeout(wait, options.gapMs))
      }
    })()
  })
}

/** A request head as bytes: `GET /path HTTP/1.1` with a Host and the given fields. */
export function head(method: string, target: string, fields: Readonly<Record<string, string>> = {}, extra = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(fields).map(([name, value]) => `${name}: ${value}`)]
  return `${lines.join('\r\n')}\r\n${extra}\r\n`
}
