// The demo's triage: the claims team's and the billing team's first decisions on the discrepancy
// register, taken through the admin API as a person would with `npx ficus triage`.
import { request } from 'undici'

interface Decision {
  readonly slice: string
  readonly family: string
  readonly body: Record<string, string>
  /** What the demo prints. */
  readonly says: string
}

/** Ninety days from now, as the date an acceptance lapses. */
function inNinetyDays(): string {
  return new Date(Date.now() + 90 * 24 * 3_600_000).toISOString().slice(0, 10)
}

const DECISIONS: readonly Decision[] = [
  {
    slice: 'billing-eligibility',
    family: 'genuine-conflict',
    body: {
      action: 'accept',
      reason: 'the Billing context forgives arrears under $5 on purpose (pricing decision BIL-12)',
      approver: 'head of billing',
      expiresAt: inNinetyDays(),
    },
    says: 'accepted as intended',
  },
  {
    slice: 'coverage-status',
    family: 'source-data-defect',
    body: { action: 'mark-legacy-data-defect', reason: 'negative premiums from the 2019 PAS batch correction', ticket: 'PAS-4711' },
    says: 'marked a legacy data defect',
  },
]

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const response = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.body.text()
  if (response.statusCode >= 400) throw new Error(`${method} ${new URL(url).pathname} answered ${response.statusCode}: ${text}`)
  return JSON.parse(text) as T
}

/** Triages the first signature of each decision's slice and family; one line per decision taken. */
export async function triageDemoDifferences(adminUrl: string): Promise<string[]> {
  const lines: string[] = []
  for (const decision of DECISIONS) {
    const query = new URLSearchParams({ slice: decision.slice, family: decision.family, limit: '1' })
    const { entries } = await call<{ entries: { id: string; route: string; paths: string[] }[] }>('GET', `${adminUrl}/admin/discrepancies?${query.toString()}`)
    const entry = entries[0]
    if (!entry) {
      lines.push(`  ${decision.slice}: no ${decision.family} in the register yet`)
      continue
    }
    await call('POST', `${adminUrl}/admin/discrepancies/${entry.id}/triage`, { ...decision.body, actor: 'demo' })
    lines.push(`  ${entry.id}  ${decision.slice} ${decision.family} on ${entry.paths.join(', ')}: ${decision.says} — ${decision.body.reason}`)
  }
  return lines
}
