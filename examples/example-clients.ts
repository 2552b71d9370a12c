import { Agent, request } from 'undici'
import { POLICIES } from './policy-data.ts'

/**
 * The example insurer's customers, as its portal calls the gateway: each holds one policy of the
 * book and sends its customer id in `x-customer-id` — the sticky key of every example slice — so a
 * percentage rollout moves whole customers, the same ones every time.
 */
export const CUSTOMER_HEADER = 'x-customer-id'
export const CUSTOMER_COUNT = 200

export interface Customer {
  readonly id: string
  readonly policy: string
}

export const CUSTOMERS: readonly Customer[] = Array.from({ length: CUSTOMER_COUNT }, (_, index) => ({
  id: `C-${String(index + 1).padStart(4, '0')}`,
  policy: POLICIES.map((policy) => policy.number)[index % POLICIES.length] ?? 'P-1001',
}))

/** The customer whose portal sends the demo's sample requests. */
export const FIRST_CUSTOMER = 'C-0001'

/** What a customer's portal asks each slice (reads only: the example clients never lodge a claim). */
const QUESTIONS: readonly { readonly slice: string; readonly path: (policy: string) => string }[] = [
  { slice: 'coverage-status', path: (policy) => `/pas/v1/policy/${policy}/status` },
  { slice: 'billing-eligibility', path: (policy) => `/pas/v1/billing/${policy}/eligibility` },
  { slice: 'claim-lodgement', path: (policy) => `/pas/v1/policy/${policy}/claims/lodgement-check?loss_date=2026-11-01` },
]

export interface SliceRound {
  readonly slice: string
  /** Customer ids by the side that answered them (x-ficus-authority). */
  readonly legacy: string[]
  readonly modern: string[]
  /** Customers whose request failed or came back without the gateway's headers. */
  readonly failed: string[]
}

/** Requests in flight at once: gentle on the example services and on the shadow queue. */
const CONCURRENCY = 8

/** Every customer asks every slice once, through the gateway at `base`; who answered whom, per slice. */
export async function customerRound(base: string): Promise<SliceRound[]> {
  const client = new Agent({ connections: CONCURRENCY })
  const rounds: SliceRound[] = []
  const work: { question: (typeof QUESTIONS)[number]; round: SliceRound; customer: Customer }[] = []
  for (const question of QUESTIONS) {
    const round = { slice: question.slice, legacy: [], modern: [], failed: [] }
    rounds.push(round)
    for (const customer of CUSTOMERS) work.push({ question, round, customer })
  }
  try {
    const next = async (): Promise<void> => {
      for (let item = work.shift(); item !== undefined; item = work.shift()) {
        const { question, round, customer } = item
        try {
          const response = await request(base + question.path(customer.policy), { dispatcher: client, headers: { [CUSTOMER_HEADER]: customer.id } })
          await response.body.dump()
          const side = response.headers['x-ficus-authority']
          if (side === 'legacy' || side === 'modern') round[side].push(customer.id)
          else round.failed.push(customer.id)
        } catch {
          round.failed.push(customer.id)
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, next))
  } finally {
    await client.close()
  }
  return rounds.map((round) => ({ ...round, legacy: round.legacy.sort(), modern: round.modern.sort(), failed: round.failed.sort() }))
}

/** One line per slice: how many customers each side answered, and the first few on modern. */
export function describeRound(rounds: readonly SliceRound[]): string {
  const width = Math.max(...rounds.map((round) => round.slice.length))
  return rounds
    .map((round) => {
      const total = round.legacy.length + round.modern.length
      const share = total === 0 ? 0 : (100 * round.modern.length) / total
      const sample = round.modern.length === 0 ? '' : `  (${round.modern.slice(0, 4).join(', ')}${round.modern.length > 4 ? ', …' : ''})`
      const failed = round.failed.length === 0 ? '' : `; ${round.failed.length} failed`
      return `  ${round.slice.padEnd(width)}  legacy ${String(round.legacy.length).padStart(3)}  modern ${String(round.modern.length).padStart(3)}  = ${share.toFixed(0).padStart(3)} % modern${failed}${sample}`
    })
    .join('\n')
}
