import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { CapturedBody } from '../compare/decode-body.ts'
import type { Headers, OutgoingHeaders } from '../http/hop-by-hop.ts'
import { tapBody } from './body-capture.ts'

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

/** What a call cut by its deadline fails with: the caller tells a timeout from other failures by it. */
export class CallDeadline extends Error {
  readonly code = 'FICUS_ERR_SHADOW_DEADLINE'
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`)
    this.name = 'CallDeadline'
  }
}

/**
 * One call whose answer nobody streams on (the shadow call, a re-ask, a double-ask), its body
 * hashed and kept up to the cap as it arrives (`tapBody`). One deadline covers the whole call, body
 * included: a slow drip is cut like a hang. It goes through `request()` with an abort signal on
 * purpose: undici takes a call that expires while still queued for a pooled connection out of the
 * queue at once. A bare `dispatch()` (tried, for the cost of the response stream) left it queued
 * and aborted it on the connection that later took it, closing that connection: one new connection
 * per expired call against a slow upstream (test/shadow/captured-call.test.ts).
 */
export async function capturedCall(dispatcher: Dispatcher, call: CapturedCall): Promise<CapturedAnswer> {
  const started = performance.now()
  const deadline = new Deadline(call.deadlineMs)
  try {
    const response = await dispatcher.request({
      method: call.method,
      path: call.path,
      headers: call.headers,
      body: call.body,
      signal: deadline,
    })
    // Latency to the response headers, as on the authoritative side, so the two compare.
    const latencyMs = Math.round((performance.now() - started) * 10) / 10
    const body = await tapBody(response.body, call.cap)
    return { status: response.statusCode, headers: response.headers, body, latencyMs }
  } catch (err) {
    throw deadline.expired ? new CallDeadline(call.deadlineMs) : err
  } finally {
    deadline.clear()
  }
}

/** A per-call deadline undici accepts as its signal (an emitter). A timer we clear, not AbortSignal.timeout(): that one fires (and builds an exception) even after success. */
class Deadline extends EventEmitter {
  expired = false
  readonly #timer: NodeJS.Timeout

  constructor(ms: number) {
    super()
    this.#timer = setTimeout(() => {
      this.expired = true
      this.emit('abort')
    }, ms)
  }

  clear(): void {
    clearTimeout(this.#timer)
  }
}
