import Fastify, { type FastifyInstance } from 'fastify'
import { findPolicy, LAG_MS } from './policy-data.ts'

/** The new Policy context: in-force status in its own vocabulary. */
export function createPolicyContext(): FastifyInstance {
  const app = Fastify({ logger: false })
  // A lagging read model: for each request (by x-request-id) it answers stale until LAG_MS after it
  // first saw it — asked again a little later, it has caught up. Bounded: old ids are forgotten.
  const firstSeen = new Map<string, number>()
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-served-by', 'policy-context')
  })

  app.get<{ Params: { policyNumber: string } }>('/policies/:policyNumber/coverage', async (request, reply) => {
    const policy = findPolicy(request.params.policyNumber)
    if (!policy) {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no policy ${request.params.policyNumber}` })
    }
    const now = Date.now()
    const id = String(request.headers['x-request-id'] ?? `${policy.number}:${now}`)
    const first = firstSeen.get(id) ?? now
    firstSeen.set(id, first)
    // Insertion order is first-seen order: forget from the oldest until a recent one.
    for (const [seen, at] of firstSeen) {
      if (now - at <= 10_000 && firstSeen.size <= 10_000) break
      firstSeen.delete(seen)
    }
    const status = policy.modernStaleStatus !== undefined && now - first < LAG_MS ? policy.modernStaleStatus : policy.modernStatus
    return {
      policyNumber: policy.number,
      status,
      coverage: { start: policy.start, end: policy.end },
      policyholder: { fullName: policy.holder },
      premium: { amount: policy.premiumCents / 100, currency: 'AUD' },
      // The read model's projection time, to the second: never the legacy platform's stamp.
      asOf: new Date(Math.floor(now / 1_000) * 1_000).toISOString().replace('.000Z', 'Z'),
    }
  })
  return app
}
