import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/**
 * What a request's handler is given in place of undici's own controller: the same operations,
 * forwarded while the call runs, and nothing of undici's request once it has ended.
 *
 * Why: undici 8's `request()` keeps its controller reachable from the answer's body stream for as
 * long as that stream lives (its resume and abort closures). The controller holds the request's
 * raw header buffers and its abort closure, which holds the request, its socket and its body. Under
 * load, V8's young collections then kept and promoted the objects of finished requests: 5-11 MB at
 * each collection at 3 000 req/s, 15-45 ms pauses instead of 1-2 ms, in about half of all runs
 * (README, Performance; `npm run bench:young-gc`). Letting go of the controller when the answer
 * ends removed it, with everything else unchanged: the signal, the removal of an aborted call from
 * the pool's queue (which works on the handler, not the controller) and backpressure.
 */
class ReleasableController implements Controller {
  #controller: Controller | null
  #aborted = false
  #paused = false
  #reason: Error | null = null

  constructor(controller: Controller) {
    this.#controller = controller
  }

  get aborted(): boolean {
    return this.#controller?.aborted ?? this.#aborted
  }

  get paused(): boolean {
    return this.#controller?.paused ?? this.#paused
  }

  get reason(): Error | null {
    return this.#controller?.reason ?? this.#reason
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#controller?.rawHeaders ?? null
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#controller?.rawTrailers ?? null
  }

  abort(reason: Error): void {
    this.#controller?.abort(reason)
  }

  pause(): void {
    this.#controller?.pause()
  }

  resume(): void {
    this.#controller?.resume()
  }

  /** The call has ended: keep its last state, let go of undici's controller. */
  release(): void {
    const controller = this.#controller
    if (!controller) return
    this.#aborted = controller.aborted
    this.#paused = controller.paused
    this.#reason = controller.reason
    this.#controller = null
  }
}

/** Hands the wrapped handler a `ReleasableController` and releases it when the call ends, however it ends. */
class ReleasingHandler implements Dispatcher.DispatchHandler {
  readonly #handler: Dispatcher.DispatchHandler
  #controller: ReleasableController | null = null

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler
  }

  #view(controller: Controller): Controller {
    return this.#controller ?? controller
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#controller = new ReleasableController(controller)
    this.#handler.onRequestStart?.(this.#controller, context)
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    try {
      this.#handler.onRequestUpgrade?.(this.#view(controller), statusCode, headers, socket)
    } finally {
      this.#controller?.release()
    }
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.()
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.#handler.onResponseStart?.(this.#view(controller), statusCode, headers, statusMessage)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#handler.onResponseData?.(this.#view(controller), chunk)
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    try {
      this.#handler.onResponseEnd?.(this.#view(controller), trailers)
    } finally {
      this.#controller?.release()
    }
  }

  onResponseError(controller: Controller, error: Error): void {
    // A call taken out of the queue, or refused before it started, has no controller of ours.
    try {
      this.#handler.onResponseError?.(this.#view(controller), error)
    } finally {
      this.#controller?.release()
    }
  }

  onBodySent(chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk)
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.()
  }
}

/** The interceptor: every call through the dispatcher lets go of undici's controller when it ends. */
export const releaseControllerAtEnd: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) =>
  dispatch(options, new ReleasingHandler(handler))
