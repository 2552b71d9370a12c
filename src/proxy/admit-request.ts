import type { FastifyReply, FastifyRequest } from 'fastify'
import { fail } from '../errors/errors.ts'
import { bodyTooLarge, checkHead } from './front-door.ts'
import { checkPath } from './path-safety.ts'
import { declaredBodyLength, type ProxyContext } from './proxy-context.ts'
import { splitUrl } from './split-url.ts'

/**
 * Stage 1, the front door (an onRequest hook): nothing is forwarded past a limit or an unsafe
 * path, and nothing new is taken while the gateway closes. Every refusal is our error answer.
 */
export function admitRequest(ctx: ProxyContext, closing: () => boolean): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const { limits } = ctx.config
  return async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing()) {
      reply.header('connection', 'close')
      throw fail.shuttingDown('the gateway is shutting down; retry on another instance')
    }
    const refused = checkHead(request.raw, limits)
    if (refused) {
      reply.header('connection', 'close')
      throw refused
    }
    const verdict = checkPath(splitUrl(request.raw.url ?? '/').path)
    if (!verdict.ok) throw fail.pathRejected(verdict.reason)
    const length = declaredBodyLength(request)
    if (length !== null && length > limits.maxBodyBytes) {
      reply.header('connection', 'close')
      throw bodyTooLarge(limits.maxBodyBytes)
    }
  }
}
