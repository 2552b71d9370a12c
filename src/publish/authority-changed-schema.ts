import { Type, type TSchema } from '@sinclair/typebox'
import '../compare/comparison-schema.ts' // registers the uuid and date-time formats
import { CHANGE_KINDS } from '../authority/authority-store.ts'
import { publishedSchemaDocument } from '../compare/published-schema.ts'
import { AUTHORITY_CHANGED_EVENT_TYPE, AUTHORITY_CHANGED_SCHEMA_VERSION } from './events.ts'

const literals = (values: readonly string[]): TSchema => Type.Union(values.map((value) => Type.Literal(value)))
const authority = (description: string): TSchema => Type.String({ pattern: '^(legacy|modern|\\d{1,3}(\\.\\d{1,2})?%)$', description })

/**
 * JSON Schema of the AuthorityChanged event, closed: what Ficus writes has exactly these
 * properties. docs/authority-changed.schema.json is its open rendering, for consumers.
 */
export const AuthorityChangedSchema = Type.Object(
  {
    schemaVersion: Type.Literal(AUTHORITY_CHANGED_SCHEMA_VERSION),
    eventType: Type.Literal(AUTHORITY_CHANGED_EVENT_TYPE),
    eventId: Type.String({ format: 'uuid', description: 'Unique per event: consumers deduplicate on it.' }),
    eventTime: Type.String({ format: 'date-time', description: 'When the change was accepted.' }),
    slice: Type.String(),
    before: authority('Authority the change replaced.'),
    after: authority('Authority now in force: legacy, modern or a sticky percentage of modern traffic.'),
    version: Type.Integer({ minimum: 1, description: 'Flag version after the change; increases by one per change of the slice.' }),
    actor: Type.String({ description: 'Who made the change (x-ficus-actor / FICUS_ACTOR).' }),
    reason: Type.String({ description: 'Why, as the actor wrote it.' }),
    kind: literals(CHANGE_KINDS),
    forced: Type.Optional(Type.Boolean({ description: 'Made against a "not ready" readiness verdict. Added within v1: absent means false.' })),
    instance: Type.String({ description: 'The gateway instance that accepted the change.' }),
    configVersion: Type.String({ description: 'Label or content hash of the routes config of that instance.' }),
    requestId: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description:
          "Cause: the id of the admin API request that made the change (the id in the gateway's log and the x-request-id of its answer); null when none is known. Added within v1: absent in events published before.",
      }),
    ),
  },
  { additionalProperties: false, $id: 'urn:ficus:schema:authority-changed:1', title: 'Ficus AuthorityChanged, schema version 1' },
)

/** The schema as the JSON document published under docs/: open to properties added later. */
export function authorityChangedSchemaDocument(): string {
  return publishedSchemaDocument(AuthorityChangedSchema)
}
