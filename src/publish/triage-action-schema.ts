import { Type, type TSchema } from '@sinclair/typebox'
import '../compare/comparison-schema.ts' // registers the uuid and date-time formats
import { publishedSchemaDocument } from '../compare/published-schema.ts'
import { TRIAGE_ACTION_EVENT_TYPE, TRIAGE_ACTION_SCHEMA_VERSION, TRIAGE_ACTION_STATES, TRIAGE_EVENT_FAMILIES, TRIAGE_EVENT_STATES } from './events.ts'

const literals = (values: readonly string[], description: string): TSchema =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  )

/**
 * JSON Schema of the TriageActionEvent, closed: what Ficus writes has exactly these properties.
 * docs/triage-action.schema.json is its open rendering, for consumers (the actions, states and
 * families become strings with their known values listed, so a value added within v1 validates).
 */
export const TriageActionSchema = Type.Object(
  {
    schemaVersion: Type.Literal(TRIAGE_ACTION_SCHEMA_VERSION),
    eventType: Type.Literal(TRIAGE_ACTION_EVENT_TYPE),
    eventId: Type.String({
      format: 'uuid',
      description: "The action's id in the triage trail: an event published again carries the same one; consumers deduplicate on it.",
    }),
    eventTime: Type.String({ format: 'date-time', description: 'When the action was recorded.' }),
    signature: Type.String({ description: "The discrepancy signature's id (16 hex digits); also the message key." }),
    slice: Type.String(),
    route: Type.String({ description: 'The route of the signature, as `METHOD /path/template`.' }),
    family: literals(
      TRIAGE_EVENT_FAMILIES,
      'The family of the signature: the register keeps the comparisons that differ, and (missing-identity) those an identity map kept from being made.',
    ),
    action: literals(Object.keys(TRIAGE_ACTION_STATES), 'What the actor did.'),
    state: literals(TRIAGE_EVENT_STATES, 'The state the action leads to.'),
    actor: Type.String({ description: 'Who acted (x-ficus-actor / FICUS_ACTOR).' }),
    reason: Type.String({ description: 'Why, as the actor wrote it.' }),
    assignee: Type.Optional(Type.String({ description: '`assign`: who investigates.' })),
    approver: Type.Optional(Type.String({ description: '`accept`: who approved the difference as intended.' })),
    expiresAt: Type.Optional(Type.String({ description: '`accept`: until when (an ISO date or time); the signature is open again after it.' })),
    ticket: Type.Optional(Type.String({ description: '`mark-modern-defect`, `mark-legacy-data-defect`: the ticket that tracks the fix.' })),
    rulesHash: Type.Optional(
      Type.String({
        pattern: '^sha256:[0-9a-f]{16}$',
        description: '`expect-fix`: the rules hash in force when the fix was promised; the signature recurring under another one is a regression.',
      }),
    ),
    instance: Type.String({ description: 'The gateway instance that recorded the action.' }),
    requestId: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description:
          "Cause: the id of the admin API request that recorded the action (the id in the gateway's log and the x-request-id of its answer); null when none is known. Added within v1: absent in events published before.",
      }),
    ),
  },
  { additionalProperties: false, $id: 'urn:ficus:schema:triage-action:1', title: 'Ficus TriageAction, schema version 1' },
)

/** The schema as the JSON document published under docs/: open to properties and values added later. */
export function triageActionSchemaDocument(): string {
  return publishedSchemaDocument(TriageActionSchema)
}
