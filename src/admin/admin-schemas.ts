import { Type, type Static } from '@sinclair/typebox'
import { NOISE_DECISION_KINDS } from '../decisions/noise-decisions.ts'
import type { ErrorCode } from '../errors/errors.ts'

// The bodies and query strings of the admin API, as fastify validates them (request-validation.ts)
// before a handler runs. They hold the shape only: whether an authority value, a slice, a route or
// an audit text makes sense is checked by the code that knows, after them.
//
// Two annotations word the refusal (request-validation.ts reads them): `expected` completes
// "<field>: must be …" where the field's type alone would say too little, and `errorCode` names the
// code of a refused field, on the field or for the whole body; FICUS_ERR_BAD_REQUEST when neither does.

/** The annotations request-validation.ts reads from a schema. */
export interface RefusalWording {
  readonly expected?: string
  readonly errorCode?: ErrorCode
}

/** The options of a body's schema: unknown fields refused, and the code of a refused body. */
type BodyWording = RefusalWording & { readonly additionalProperties: false }

export const DEFAULT_HISTORY_LIMIT = 50
export const MAX_HISTORY_LIMIT = 1_000

const reason = Type.String({ expected: 'a non-empty text' } satisfies RefusalWording)
const actor = Type.Optional(Type.String())

/** PUT /admin/slices/:id/authority */
export const FlipBody = Type.Object(
  {
    authority: Type.String({ expected: '"legacy", "modern" or a percentage of modern traffic from "0%" to "100%"' } satisfies RefusalWording),
    reason,
    expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })),
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

/** POST /admin/slices/:id/noise */
export const NoiseDecisionBody = Type.Object(
  {
    route: Type.String({ expected: 'a route of the slice as its config names it, "<METHOD> <path>"' } satisfies RefusalWording),
    path: Type.String({ expected: 'a JSON pointer into an answer, /body/... or /headers/<name>' } satisfies RefusalWording),
    decision: Type.Union(NOISE_DECISION_KINDS.map((kind) => Type.Literal(kind))),
    reason,
    actor,
  },
  { additionalProperties: false, errorCode: 'FICUS_ERR_DECISION_INVALID' } satisfies BodyWording,
)
export type NoiseDecisionBody = Static<typeof NoiseDecisionBody>

/** GET /admin/history and /admin/noise-decisions: newest first, `limit` entries at most. */
export const AuditTrailQuery = Type.Object(
  {
    slice: Type.Optional(Type.String({ expected: 'one slice id' } satisfies RefusalWording)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT })),
  },
  { additionalProperties: false },
)
export type AuditTrailQuery = Static<typeof AuditTrailQuery>
