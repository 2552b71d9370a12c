import Fastify, { type FastifyInstance } from 'fastify'
import { findPolicy } from './policy-data.ts'

/** The new Policy context: in-force status in its own vocabulary. */
export function createPolicyContext(): FastifyInstance {
  const app = Fastify({ logger: false })
  // Per policy, how often it was read: a lagging read model answers stale on every other read.
  const reads = new Map<string, number>()
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-served-by', 'policy-context')
  })

  app.get<{ Params: { policyNumber: string } }>('/policies/:policyNumber/coverage', async (request, reply) => {
    const policy = findPolicy(request.params.policyNumber)
    if (!policy) {
      return reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no policy ${request.params.policyNumber}` })
    }
    const count = (reads.get(policy.number) ?? 0) + 1
    reads.set(policy.number, count)
    const status = policy.modernStaleStatus !== undefined && count % 2 === 1 ? policy.modernStaleStatus : policy.modernStatus
    return {
      policyNumber: policy.number,
      status,
      coverage: { start: policy.start, end: policy.end },
      policyholder: { fullName: policy.holder },
      premium: { amount: policy.premiumCents / 100, currency: 'AUD' },
      asOf: new Date().toISOString(),
    }
  })
  return app
}
