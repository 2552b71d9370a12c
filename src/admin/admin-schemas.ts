import { Type, type Static } from '@sinclair/typebox'
import { NOISE_DECISION_KINDS } from '../decisions/noise-decisions.ts'
import { MAX_TEXT_LENGTH } from '../authority/authority-store.ts'
import type { ErrorCode } from '../errors/errors.ts'
import { AUTHORITY_VALUES } from '../model/authority-value.ts'
import { REGISTERED_FAMILIES } from '../register/discrepancy-signature.ts'
import { TRIAGE_ACTIONS, TRIAGE_STATES, type TriageAction } from '../register/triage.ts'

// The bodies and query strings of the admin API, as fastify validates them (request-validation.ts)
// before a handler runs. They hold the shape only: whether an authority value, a slice, a route or
// an audit text makes sense is checked by the code that knows, after them — with the same words,
// so that a field gets one message whichever check refuses it.
//
// Annotations word the refusal (request-validation.ts reads them): `expected` completes
// "<field>: must be …" where the field's type alone would say too little; `echo` adds what was sent
// ("(got …)", bodies only: a query string's values are never echoed); `refusal` replaces the whole
// text after "<field>: " for any refusal of the field, missing or wrong; `errorCode` names the code
// of a refused field, on the field or for the whole body (FICUS_ERR_BAD_REQUEST when neither does).
// When several fields are wrong, the first in the schema's order is named.

/** The annotations request-validation.ts reads from a schema. */
export interface RefusalWording {
  readonly expected?: string
  readonly echo?: boolean
  readonly refusal?: string
  readonly errorCode?: ErrorCode
}

/** The options of a body's schema: unknown fields refused, and the code of a refused body. */
type BodyWording = RefusalWording & { readonly additionalProperties: false }

export const DEFAULT_HISTORY_LIMIT = 50
export const MAX_HISTORY_LIMIT = 1_000

const auditText = {
  refusal: `is required, a non-empty text of at most ${MAX_TEXT_LENGTH} characters`,
  errorCode: 'FICUS_ERR_AUTHORITY_INVALID',
} satisfies RefusalWording
const reason = Type.String(auditText)
const actor = Type.Optional(Type.String({ errorCode: 'FICUS_ERR_AUTHORITY_INVALID' } satisfies RefusalWording))

/** PUT /admin/slices/:id/authority */
export const FlipBody = Type.Object(
  {
    authority: Type.String({ expected: AUTHORITY_VALUES, echo: true } satisfies RefusalWording),
    reason,
    expectedVersion: Type.Optional(Type.Integer({ minimum: 0, ...({ echo: true } satisfies RefusalWording) })),
    actor,
    force: Type.Optional(Type.Boolean({ errorCode: 'FICUS_ERR_BAD_REQUEST' } satisfies RefusalWording)),
  },
  { additionalProperties: false, errorCode: 'FICUS_ERR_AUTHORITY_INVALID' } satisfies BodyWording,
)
export type FlipBody = Static<typeof FlipBody>

/** POST /admin/kill-switch: every slice unless `slices` names some. */
export const KillSwitchBody = Type.Object(
  {
    reason,
    slices: Type.Optional(Type.Array(Type.String(), { expected: 'a list of slice ids', errorCode: 'FICUS_ERR_BAD_REQUEST' } satisfies RefusalWording)),
    actor,
  },
  { additionalProperties: false, errorCode: 'FICUS_ERR_AUTHORITY_INVALID' } satisfies BodyWording,
)
export type KillSwitchBody = Static<typeof KillSwitchBody>

const decisionText = { ...auditText, errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies RefusalWording

/** POST /admin/slices/:id/noise */
export const NoiseDecisionBody = Type.Object(
  {
    route: Type.String({ expected: 'a route of the slice as its config names it, "<METHOD> <path>"', echo: true } satisfies RefusalWording),
    path: Type.String({ expected: 'a JSON pointer into an answer, /body/... or /headers/<name>', echo: true } satisfies RefusalWording),
    decision: Type.Union(
      NOISE_DECISION_KINDS.map((kind) => Type.Literal(kind)),
      { echo: true } satisfies RefusalWording,
    ),
    reason: Type.String(decisionText),
    actor: Type.Optional(Type.String({ errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies RefusalWording)),
  },
  { additionalProperties: false, errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies BodyWording,
)
export type NoiseDecisionBody = Static<typeof NoiseDecisionBody>

/**
 * GET /admin/history and /admin/noise-decisions: newest first, `limit` entries at most. Other
 * parameters are ignored (a cache-buster such as `_=…` is common); `slice` is checked against the
 * config before this schema runs (a repeated or unknown one is an unknown slice, 404).
 */
export const AuditTrailQuery = Type.Object({
  slice: Type.Optional(Type.Unknown()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT })),
})
export type AuditTrailQuery = Static<typeof AuditTrailQuery>

/** GET /admin/discrepancies: the register's signatures, newest first; `slice` is checked like the audit trails'. */
export const DiscrepancyListQuery = Type.Object({
  slice: Type.Optional(Type.Unknown()),
  family: Type.Optional(Type.Union(REGISTERED_FAMILIES.map((family) => Type.Literal(family)))),
  state: Type.Optional(Type.Union(TRIAGE_STATES.map((state) => Type.Literal(state)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT })),
})
export type DiscrepancyListQuery = Static<typeof DiscrepancyListQuery>

/**
 * GET /admin/discrepancies/backlog: the triage backlog per slice and family over the whole (bounded)
 * register; `slice` is checked like the audit trails'.
 */
export const DiscrepancyBacklogQuery = Type.Object({
  slice: Type.Optional(Type.Unknown()),
  family: Type.Optional(Type.Union(REGISTERED_FAMILIES.map((family) => Type.Literal(family)))),
})
export type DiscrepancyBacklogQuery = Static<typeof DiscrepancyBacklogQuery>

/** GET /admin/discrepancies/:id/history */
export const TriageHistoryQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT })),
})
export type TriageHistoryQuery = Static<typeof TriageHistoryQuery>

const triageText = { errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies RefusalWording

/** POST /admin/discrepancies/:id/triage: what each action needs besides a reason is checked after the schema. */
export const TriageBody = Type.Object(
  {
    action: Type.Union(
      (Object.keys(TRIAGE_ACTIONS) as TriageAction[]).map((action) => Type.Literal(action)),
      { echo: true } satisfies RefusalWording,
    ),
    reason: Type.String(decisionText),
    actor: Type.Optional(Type.String(triageText)),
    assignee: Type.Optional(Type.String({ ...triageText, maxLength: MAX_TEXT_LENGTH })),
    approver: Type.Optional(Type.String({ ...triageText, maxLength: MAX_TEXT_LENGTH })),
    expiresAt: Type.Optional(Type.String({ ...triageText, maxLength: 40 })),
    ticket: Type.Optional(Type.String({ ...triageText, maxLength: MAX_TEXT_LENGTH })),
  },
  { additionalProperties: false, errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies BodyWording,
)
export type TriageBody = Static<typeof TriageBody>
