import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { CapturedBody } from '../compare/decode-body.ts'
import type { Headers, OutgoingHeaders } from '../http/hop-by-hop.ts'
import { Capture } from './body-capture.ts'

/** An answer of a side to the parallel run: its status, headers, latency to the headers and its body as captured. */
export interface CapturedAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: CapturedBody
  readonly latencyMs: number
}

export interface CapturedCall {
  readonly method: string
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Buffer | null
  /** Body bytes kept (all of the body is hashed). */
  readonly cap: number
  /** The whole call, body included: a slow drip is cut like a hang. */
  readonly deadlineMs: number
}

/** What a call cut by its deadline fails with (`expired` tells the caller it was the deadline). */
export class CallDeadline extends Error {
  readonly code = 'FICUS_ERR_SHADOW_DEADLINE'
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`)
    this.name = 'CallDeadline'
  }
}

/**
 * One call whose answer nobody streams on (the shadow call, a re-ask, a double-ask): undici's
 * dispatch with a handler that hashes and keeps the body chunk by chunk as it arrives — no
 * response stream, no request handler with its async resource, no abort emitter. Its deadline
 * covers the whole call: a call still queued for a connection fails at the deadline too (with
 * `request()` and a signal, it waited until a connection took it, then aborted).
 */
export function capturedCall(dispatcher: Dispatcher, call: CapturedCall): Promise<CapturedAnswer> {
  return new Promise<CapturedAnswer>((resolve, reject) => {
    const handler = new CaptureHandler(call, resolve, reject)
    try {
      dispatcher.dispatch({ method: call.method, path: call.path, headers: call.headers, body: call.body }, handler)
    } catch (err) {
      handler.fail(err as Error)
    }
  })
}

class CaptureHandler implements Dispatcher.DispatchHandler {
  readonly #started = performance.now()
  readonly #capture: Capture
  readonly #timer: NodeJS.Timeout
  readonly #resolve: (answer: CapturedAnswer) => void
  readonly #reject: (err: Error) => void
  #controller: Dispatcher.DispatchController | undefined
  #status = 0
  #headers: Headers = {}
  #latencyMs = 0
  #done = false

  constructor(call: CapturedCall, resolve: (answer: CapturedAnswer) => void, reject: (err: Error) => void) {
    this.#capture = new Capture(call.cap)
    this.#resolve = resolve
    this.#reject = reject
    // A timer we clear, not AbortSignal.timeout(): that one fires (and builds an exception) even after success.
    this.#timer = setTimeout(() => {
      const err = new CallDeadline(call.deadlineMs)
      this.fail(err)
      this.#controller?.abort(err)
    }, call.deadlineMs)
  }

  /** Settles with a failure, once; a call still queued in the pool is aborted when it reaches a connection. */
  fail(err: Error): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    this.#reject(err)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#done) controller.abort(new CallDeadline(0))
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    if (statusCode < 200) return
    // Latency to the response headers, as on the authoritative side, so the two compare.
    this.#latencyMs = Math.round((performance.now() - this.#started) * 10) / 10
    this.#status = statusCode
    this.#headers = headers
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#done) this.#capture.take(chunk)
  }

  onResponseEnd(): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    this.#resolve({ status: this.#status, headers: this.#headers, body: this.#capture.captured(), latencyMs: this.#latencyMs })
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err)
  }
}
