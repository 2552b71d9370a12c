import { Type } from '@sinclair/typebox'
import '../compare/comparison-schema.ts' // registers the uuid and date-time formats
import { publishedSchemaDocument } from '../compare/published-schema.ts'
import { SHADOW_SKIP_CAUSES, SHADOW_SKIPS_EVENT_TYPE, SHADOW_SKIPS_SCHEMA_VERSION } from './shadow-skips.ts'

const CAUSE_MEANING: Readonly<Record<(typeof SHADOW_SKIP_CAUSES)[number], string>> = {
  'sampled-out': "Outside the slice's sample (shadow.sample).",
  'unsafe-write': 'A write the shadow side declares no write safety for (shadow.writes).',
  'breaker-open': "The slice's shadow breaker for the other side was open: no call was tried.",
  'queue-full': 'No place in the shadow queue (gateway.shadow.concurrency and queue).',
}

/**
 * JSON Schema of the ShadowSkips event, closed: what Ficus writes has exactly these properties.
 * docs/shadow-skips.schema.json is its open rendering, for consumers (a cause added within v1 is a
 * property they accept).
 */
export const ShadowSkipsSchema = Type.Object(
  {
    schemaVersion: Type.Literal(SHADOW_SKIPS_SCHEMA_VERSION),
    eventType: Type.Literal(SHADOW_SKIPS_EVENT_TYPE),
    eventId: Type.String({ format: 'uuid', description: 'Unique per event: consumers deduplicate on it.' }),
    eventTime: Type.String({ format: 'date-time', description: 'When the window was closed (its end).' }),
    windowStart: Type.String({ format: 'date-time', description: 'Start of the window the counts cover (inclusive).' }),
    windowEnd: Type.String({ format: 'date-time', description: 'End of the window the counts cover (exclusive).' }),
    slice: Type.String(),
    rulesHash: Type.String({
      pattern: '^sha256:[0-9a-f]{16}$',
      description: "Hash of the slice's effective rules, as on its comparisons: the evidence the skips belong to.",
    }),
    configVersion: Type.String({ description: 'Label or content hash of the routes config of the instance.' }),
    instance: Type.String({ description: 'The gateway instance that counted the skips.' }),
    counts: Type.Object(
      Object.fromEntries(SHADOW_SKIP_CAUSES.map((cause) => [cause, Type.Optional(Type.Integer({ minimum: 1, description: CAUSE_MEANING[cause] }))])),
      { additionalProperties: false, description: 'Requests of the slice whose shadow was not run, by cause; a cause with none is absent.' },
    ),
    total: Type.Integer({ minimum: 1, description: 'The sum of counts.' }),
  },
  { additionalProperties: false, $id: 'urn:ficus:schema:shadow-skips:1', title: 'Ficus ShadowSkips, schema version 1' },
)

/** The schema as the JSON document published under docs/: open to properties added later. */
export function shadowSkipsSchemaDocument(): string {
  return publishedSchemaDocument(ShadowSkipsSchema)
}
