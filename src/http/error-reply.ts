import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, fail, type FicusError, isFicusError } from '../errors/errors.ts'

/** Errors fastify raises itself (malformed request, bad JSON, ...) keep their 4xx status; anything else is a 500 without details. */
export function fromFrameworkError(err: FastifyError | FicusError): FicusError {
  if (isFicusError(err)) return err
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return fail.badRequest(err.message, { cause: err, status })
  return fail.internal('the gateway failed to handle this request; see its log with the request id', { cause: err })
}

/**
 * The one shape of every error answer, on the client port and the admin port alike:
 * `{ error, code, message, requestId, ...extra }` — never a stack trace.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: FastifyError | FicusError,
  extra: Record<string, unknown> = {},
  logOnly: Record<string, unknown> = {},
): FastifyReply {
  const error = fromFrameworkError(err)
  if (error.code === 'FICUS_ERR_INTERNAL') request.log.error({ err, ...extra, ...logOnly }, 'internal error')
  else request.log.warn({ code: error.code, reason: error.message, ...extra, ...logOnly }, 'request failed')
  return reply
    .code(error.statusCode)
    .type('application/json; charset=utf-8')
    .send({ error: ERROR_CODES[error.code].title, code: error.code, message: error.message, ...extra, requestId: request.id })
}
