import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { OutgoingHeaders } from '../http/hop-by-hop.ts'
import { CountedFailure, UncountedError, type CircuitBreakers } from '../upstream/circuit-breakers.ts'
import type { UpstreamClient } from '../upstream/upstream-pools.ts'

/** Tells undici (which accepts an emitter as its signal) that the client went away. */
export class ClientGone extends EventEmitter {
  gone = false

  fire(): void {
    this.gone = true
    this.emit('abort')
  }
}

/** Methods safe to send again: idempotent, and here only without a body. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE'])
/** A pooled connection the upstream closed before any byte of the answer arrived. */
const CLOSED_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

export interface ForwardCall {
  readonly client: UpstreamClient
  /** The slice whose breaker guards the call; null for fallthrough (no breaker). */
  readonly slice: string | null
  readonly method: string
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Readable | Buffer | null
  readonly signal: ClientGone
  /** Called once per retry on a fresh connection (counted in metrics). */
  readonly onRetry?: (upstream: string) => void
}

/**
 * The upstream's time to answer (`timeoutMs`), to the millisecond: undici's own headers timeout
 * runs on a coarse clock (up to a second late). Armed once the request body is sent — a slow
 * upload is not the upstream's delay — and cleared when the answer's headers arrive.
 */
class AnswerDeadline {
  expired = false
  #timer: NodeJS.Timeout | undefined
  readonly #signal: ClientGone
  readonly #ms: number

  constructor(signal: ClientGone, ms: number) {
    this.#signal = signal
    this.#ms = ms
  }

  arm(): void {
    if (this.#timer !== undefined || this.#signal.gone) return
    this.#timer = setTimeout(() => {
      this.expired = true
      this.#signal.emit('abort')
    }, this.#ms)
  }

  clear(): void {
    clearTimeout(this.#timer)
  }

  /** The error a late answer is reported with: undici's code, so it maps to 504 like its own. */
  error(cause: unknown): Error {
    return Object.assign(new Error(`no answer within ${this.#ms} ms`, { cause }), { code: 'UND_ERR_HEADERS_TIMEOUT' })
  }
}

/** The client's own fault (a body past the limit, a body that ended early, a client that left): never the upstream's failure. */
function clientFault(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as { code?: string }).code
    if (
      code === 'FICUS_ERR_BODY_TOO_LARGE' ||
      code === 'FICUS_ERR_CLIENT_CLOSED' ||
      code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' ||
      code === 'ERR_STREAM_PREMATURE_CLOSE'
    )
      return true
  }
  return false
}

function closedBeforeAnswer(err: unknown): boolean {
  return CLOSED_CONNECTION.has((err as { code?: string } | null)?.code ?? '')
}

/**
 * Sends a request to the authoritative upstream through the slice's client-traffic breaker. A
 * request whose pooled connection was closed before any byte of the answer (the upstream's idle
 * timeout racing ours) is sent again once on a fresh connection — only an idempotent method without
 * a body, and only when the upstream allows it. 5xx answers count as breaker failures only where
 * configured; a client that left never counts.
 */
export async function forward(breakers: CircuitBreakers, call: ForwardCall): Promise<Dispatcher.ResponseData> {
  const { client } = call
  const upstream = client.config.name
  const countServerErrors = breakers.countsServerErrors(upstream, 'primary')
  const send = (): Promise<Dispatcher.ResponseData> =>
    client.pool.request({ method: call.method, path: call.path, headers: call.headers, body: call.body, signal: call.signal })
  const retryable = client.config.retryIdempotent && call.body === null && RETRYABLE_METHODS.has(call.method)
  return breakers.call(
    upstream,
    'primary',
    async () => {
      const deadline = new AnswerDeadline(call.signal, client.config.timeoutMs)
      if (call.body === null || Buffer.isBuffer(call.body)) deadline.arm()
      else call.body.once('end', () => deadline.arm())
      let answer: Dispatcher.ResponseData
      try {
        answer = await send()
      } catch (err) {
        if (call.signal.gone || clientFault(err)) throw new UncountedError(err)
        if (deadline.expired) throw deadline.error(err)
        if (!retryable || !closedBeforeAnswer(err)) throw err
        call.onRetry?.(upstream)
        try {
          answer = await send()
        } catch (again) {
          if (call.signal.gone || clientFault(again)) throw new UncountedError(again)
          throw deadline.expired ? deadline.error(again) : again
        }
      } finally {
        deadline.clear()
      }
      // 5xx answers go to the client as they are; they count as failures only where configured.
      if (answer.statusCode >= 500 && countServerErrors) throw new CountedFailure(answer, `upstream answered ${answer.statusCode}`)
      return answer
    },
    call.slice,
  )
}
