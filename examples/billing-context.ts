import Fastify, { type FastifyInstance } from 'fastify'
import { findPolicy } from './policy-data.ts'

/** The new Billing context: a policy is eligible only when active and without any arrears. */
export function createBillingContext(): FastifyInstance {
  const app = Fastify({ logger: false })
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-served-by', 'billing-context')
  })

  app.get<{ Params: { policyNumber: string } }>('/billing-accounts/:policyNumber/eligibility', async (request, reply) => {
    const policy = findPolicy(request.params.policyNumber)
    if (!policy) {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no billing account for ${request.params.policyNumber}` })
    }
    return {
      policyNumber: policy.number,
      eligible: policy.modernStatus === 'ACTIVE' && policy.arrearsCents === 0,
      arrears: { amount: policy.arrearsCents / 100, currency: 'AUD' },
    }
  })
  return app
}
