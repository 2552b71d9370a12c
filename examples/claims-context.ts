import Fastify, { type FastifyInstance } from 'fastify'
import { claimById } from './claim-data.ts'
import { findPolicy } from './policy-data.ts'

/** Requests carrying this header are validated but never committed (for shadowed writes). */
export const DRY_RUN_HEADER = 'x-ficus-shadow'

/** The new Claims context: may a claim be lodged, lodging it, and where a claim stands (by its new id). */
export function createClaimsContext(): FastifyInstance {
  const app = Fastify({ logger: false })
  let claimSequence = 90_000
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-served-by', 'claims-context')
  })

  app.get<{ Params: { policyNumber: string }; Querystring: { loss_date?: string } }>(
    '/claims/v1/policies/:policyNumber/lodgement-eligibility',
    async (request, reply) => {
      const policy = findPolicy(request.params.policyNumber)
      if (!policy) return reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404 })
      const lossDate = request.query.loss_date ?? new Date().toISOString().slice(0, 10)
      const inTerm = lossDate >= policy.start && lossDate <= policy.end
      const reason =
        policy.modernStatus === 'LAPSED' ? 'POLICY_LAPSED' : policy.modernStatus === 'SUSPENDED' ? 'POLICY_SUSPENDED' : inTerm ? null : 'LOSS_OUTSIDE_COVER'
      return { policyNumber: policy.number, permitted: reason === null, reason }
    },
  )

  // Claims are known here by their own ids only (examples/claim-ids.csv links them to legacy numbers).
  app.get<{ Params: { claimId: string } }>('/claims/v1/claims/:claimId', async (request, reply) => {
    const claim = claimById(request.params.claimId)
    if (!claim?.id) return reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404 })
    return { claimId: claim.id, policyNumber: claim.policyNumber, lossDate: claim.lossDate, status: claim.status }
  })

  // Accepts the legacy request shape: the anti-corruption layer of intake lives here for now.
  app.post<{ Body: { pol_no?: string; loss_dt?: string } }>('/claims/v1/claims', async (request, reply) => {
    const policy = findPolicy(request.body?.pol_no ?? '')
    if (!policy) return reply.code(422).type('application/problem+json').send({ type: 'about:blank', title: 'Unprocessable Content', status: 422 })
    // A dry run answers what lodging would answer, without a claim number and without committing.
    if (request.headers[DRY_RUN_HEADER] === 'dry-run') {
      return reply.code(201).send({ claimNumber: null, policyNumber: policy.number, lossDate: request.body.loss_dt ?? null, dryRun: true })
    }
    claimSequence += 1
    return reply.code(201).send({ claimNumber: `CLM-${claimSequence}`, policyNumber: policy.number, lossDate: request.body.loss_dt ?? null })
  })
  return app
}
