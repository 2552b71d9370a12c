import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { fail } from '../errors/errors.ts'
import { captureRequestBody } from '../shadow/body-capture.ts'
import type { ShadowRun } from '../shadow/shadow-runner.ts'
import { BodyLimit } from './front-door.ts'
import { hasBody, type ProxyContext } from './proxy-context.ts'

/**
 * Stage 4: the request's body as the upstream gets it — streamed and counted against the limit;
 * for a shadowed request read once (up to the shadow cap) and replayed to both sides. Starts the
 * shadow call once its body is known.
 */
export async function requestBody(ctx: ProxyContext, request: FastifyRequest, shadow: ShadowRun | undefined): Promise<Readable | Buffer | null> {
  if (!hasBody(request)) {
    shadow?.start(null)
    return null
  }
  const limited = request.raw.pipe(new BodyLimit(ctx.config.limits.maxBodyBytes))
  // The upstream call reports the stream's errors; this keeps one that nobody reads (the breaker
  // refused the call before the body was taken) from being an unhandled 'error' event.
  limited.on('error', () => undefined)
  // pipe() does not pass on the source's end: a client that leaves mid-body fails the stream.
  const left = (): void => {
    if (!request.raw.complete) limited.destroy(fail.clientClosed('the client left during its request body'))
  }
  request.raw.once('error', left)
  request.raw.once('close', left)
  if (!shadow) return limited
  const captured = await captureRequestBody(limited, shadow.maxRequestBodyBytes)
  if (!captured.complete) {
    shadow.skip('request-body-over-cap')
    return captured.replay
  }
  shadow.start(captured.body)
  return captured.body
}
