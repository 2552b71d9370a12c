import Fastify, { type FastifyInstance } from 'fastify'
import { claimByNumber } from './claim-data.ts'
import { AGENTS, findPolicy, LEGACY_ARREARS_TOLERANCE_CENTS, legacyAmount, legacyDate } from './policy-data.ts'

const NOT_FOUND = { err_cd: 'E404', err_msg: 'POLICY NOT FOUND' }

/** Every endorsement on file, as the legacy platform lists them (about 90 bytes each). */
function endorsementList(policy: string, count: number): { end_no: string; end_cd: string; eff_dt: string; txt: string }[] {
  return Array.from({ length: count }, (_, index) => ({
    end_no: `${policy}-E${String(index + 1).padStart(5, '0')}`,
    end_cd: index % 3 === 0 ? 'VEH_ADD' : 'DRV_ADD',
    eff_dt: '20250101',
    txt: 'ENDORSEMENT ON FILE',
  }))
}

/**
 * The legacy policy-administration platform ("PAS"): overloaded status codes, snake_case fields,
 * compact dates and amounts as strings. It also serves endpoints no slice has claimed yet.
 */
export function createLegacyPas(): FastifyInstance {
  const app = Fastify({ logger: false })
  let claimSequence = 5000
  // Every answer is stamped with the time it was generated, never twice the same: asked twice, the
  // platform differs from itself on this field — the noise a parallel run has to learn.
  let lastGenerated = 0
  const generatedAt = (): string => {
    lastGenerated = Math.max(Date.now(), lastGenerated + 1)
    return new Date(lastGenerated).toISOString()
  }
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-served-by', 'legacy-pas')
  })

  app.get<{ Params: { clmNo: string } }>('/pas/v1/claims/:clmNo', async (request, reply) => {
    const claim = claimByNumber(request.params.clmNo)
    if (!claim) return reply.code(404).send({ err_cd: 'E404', err_msg: 'CLAIM NOT FOUND' })
    return { clm_no: claim.number, pol_no: claim.policyNumber, loss_dt: legacyDate(claim.lossDate), clm_stat: claim.legacyStatus }
  })

  app.get<{ Params: { polNo: string } }>('/pas/v1/policy/:polNo/status', async (request, reply) => {
    const policy = findPolicy(request.params.polNo)
    if (!policy) return reply.code(404).send(NOT_FOUND)
    return {
      pol_no: policy.number,
      stat_cd: policy.legacyStatus,
      eff_dt: legacyDate(policy.start),
      exp_dt: legacyDate(policy.end),
      holder: { name: policy.holder },
      prem_amt: legacyAmount(policy.legacyPremiumCents ?? policy.premiumCents),
      generated_at: generatedAt(),
      ...(policy.endorsements === undefined ? {} : { endorsements: endorsementList(policy.number, policy.endorsements) }),
    }
  })

  app.get<{ Params: { polNo: string } }>('/pas/v1/billing/:polNo/eligibility', async (request, reply) => {
    const policy = findPolicy(request.params.polNo)
    if (!policy) return reply.code(404).send(NOT_FOUND)
    const eligible = policy.legacyStatus === 'ACTV' && policy.arrearsCents <= LEGACY_ARREARS_TOLERANCE_CENTS
    return { pol_no: policy.number, elig_flg: eligible ? 'Y' : 'N', arrs_amt: legacyAmount(policy.arrearsCents) }
  })

  app.get<{ Params: { polNo: string }; Querystring: { loss_date?: string } }>('/pas/v1/policy/:polNo/claims/lodgement-check', async (request, reply) => {
    const policy = findPolicy(request.params.polNo)
    if (!policy) return reply.code(404).send(NOT_FOUND)
    const lossDate = request.query.loss_date ?? new Date().toISOString().slice(0, 10)
    const inTerm = lossDate >= policy.start && lossDate <= policy.end
    const reason = policy.legacyStatus === 'LAPS' ? 'LAPSED' : policy.legacyStatus === 'SUSP' ? 'SUSPENDED' : inTerm ? null : 'OUT_OF_TERM'
    return { pol_no: policy.number, lodge_ok: reason === null ? 'Y' : 'N', rsn_cd: reason }
  })

  app.post<{ Body: { pol_no?: string; loss_dt?: string } }>('/pas/v1/claims', async (request, reply) => {
    const policy = findPolicy(request.body?.pol_no ?? '')
    if (!policy) return reply.code(422).send({ err_cd: 'E422', err_msg: 'POL_NO INVALID' })
    claimSequence += 1
    return reply.code(201).send({ clm_no: `C-${claimSequence}`, pol_no: policy.number, loss_dt: request.body.loss_dt ?? null })
  })

  app.get<{ Params: { agentId: string } }>('/pas/v1/agents/:agentId', async (request, reply) => {
    const name = AGENTS[request.params.agentId]
    if (!name) return reply.code(404).send({ err_cd: 'E404', err_msg: 'AGENT NOT FOUND' })
    return { agent_id: request.params.agentId, agent_nm: name }
  })

  app.get('/pas/v1/health', () => ({ status: 'UP' }))
  return app
}
