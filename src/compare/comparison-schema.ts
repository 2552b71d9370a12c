import { FormatRegistry, Type, type TSchema } from '@sinclair/typebox'
import { CATEGORIES, FAMILIES, OUTCOMES } from './classify.ts'
import { COMPARISON_EVENT_TYPE, COMPARISON_SCHEMA_VERSION, ORIGINS } from './comparison.ts'
import { DIFF_KINDS } from './json-diff.ts'
import { publishedSchemaDocument } from './published-schema.ts'

// The formats the schema uses, for TypeBox's own checker (JSON Schema validators know them).
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)))

// Closed: Ficus checks its own records against these definitions, where an unknown property is a
// typo. The documents under docs/ are their open rendering (published-schema.ts).
const strict = { additionalProperties: false } as const
const literals = (values: readonly string[], options: { description?: string } = {}): TSchema =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  )
const nullable = (schema: TSchema): TSchema => Type.Union([schema, Type.Null()])
const hash = (description: string): TSchema => Type.String({ pattern: '^hmac-sha256:[0-9a-f]{32}$', description })
const PUBLISHED_PATH =
  'Object keys that come from data (not named by the slice\'s config nor allowed by compare.clearKeys) are published as "#" and 16 hex digits of a salted HMAC: the same key gives the same segment within one deployment (since 1.2).'
const path = (description: string): TSchema => Type.String({ description: `${description} ${PUBLISHED_PATH}` })

const Side = Type.Object(
  {
    side: literals(['legacy', 'modern']),
    upstream: Type.String({ description: 'Upstream name from routes.config.ts.' }),
    status: nullable(Type.Integer({ minimum: 100, maximum: 599, description: 'HTTP status answered; null when there was no answer.' })),
    latencyMs: nullable(Type.Number({ minimum: 0, description: 'Time until the response headers arrived, on either side.' })),
    bodyHash: nullable(
      Type.String({
        // Both forms: records written before 1.2 still validate.
        pattern: '^(hmac-sha256:[0-9a-f]{32}|sha256:[0-9a-f]{64})$',
        description:
          'Salted HMAC-SHA-256 of the body as received (content-encoded): equal bodies, equal hashes within one deployment (one salt); a guessed body cannot be confirmed without the salt. Since 1.2; before, an unsalted sha256:<64 hex>.',
      }),
    ),
    bodyBytes: nullable(Type.Integer({ minimum: 0 })),
    contentType: nullable(Type.String()),
    error: nullable(
      Type.String({
        description:
          'Why there is no answer: timeout, refused, reset, 5xx, breaker-open, bad-response, client-closed, incomplete, invalid-json, queue-full, request-body-over-cap, unsafe-write, error.',
      }),
    ),
  },
  strict,
)

const Value = Type.Unknown({ description: 'A JSON value, only where the slice opted in (compare.values) and the path is not redacted.' })

const DiffEntry = Type.Object(
  {
    path: path('JSON pointer: /status, /headers/<name>, or /body/... in the translated (modern) language.'),
    kind: literals(DIFF_KINDS),
    legacy: Type.Optional(Value),
    modern: Type.Optional(Value),
    legacyHash: Type.Optional(hash('Salted hash of the legacy value, when values are not published.')),
    modernHash: Type.Optional(hash('Salted hash of the modern value, when values are not published.')),
  },
  strict,
)

/**
 * JSON Schema of the Comparison record, closed: what Ficus writes has exactly these properties.
 * docs/comparison.schema.json is its open rendering, for consumers.
 */
export const ComparisonSchema = Type.Object(
  {
    schemaVersion: Type.Literal(COMPARISON_SCHEMA_VERSION),
    eventType: Type.Literal(COMPARISON_EVENT_TYPE),
    eventId: Type.String({ format: 'uuid', description: 'Unique per comparison: consumers deduplicate on it.' }),
    eventTime: Type.String({ format: 'date-time', description: 'When the comparison was complete.' }),
    requestTime: Type.String({ format: 'date-time', description: 'When the gateway received the request.' }),
    processingMs: Type.Number({ minimum: 0, description: 'Gateway time spent decoding, translating, diffing and classifying.' }),
    slice: Type.String(),
    route: Type.String({ description: 'Method and path template, e.g. "GET /pas/v1/policy/:policyNumber/status".' }),
    method: Type.String(),
    entityKey: nullable(Type.String({ description: 'The business entity (slice entityKey), when the request names one.' })),
    requestId: Type.String({ description: 'x-request-id: the correlation id in logs and on both sides.' }),
    traceparent: nullable(Type.String({ description: 'W3C traceparent of the request, when valid.' })),
    authority: Type.String({ description: 'Authority in force: legacy, modern or "N%".' }),
    flagVersion: Type.Integer({ minimum: 0 }),
    configVersion: Type.String({ description: 'Label or content hash of the routes config.' }),
    translationVersion: nullable(Type.String()),
    instance: Type.String({ description: 'The gateway instance.' }),
    primary: Side,
    shadow: Side,
    // Added within v1 (schema 1.5), optional for the same reason as the 1.1 fields below.
    origin: Type.Optional(
      literals(ORIGINS, {
        description:
          'What caused the comparison: live (a client request, requestId), reconcile (a reconciliation run asked both sides) or replay (a captured pair judged again under newer rules). Absent before 1.5: live. Since 1.5.',
      }),
    ),
    causationId: Type.Optional(
      nullable(
        Type.String({
          description:
            'Causation: the run id of a reconciliation (origin reconcile), the eventId of the comparison a replay judges again (origin replay); null for live traffic, whose cause is the client request (requestId). Since 1.5.',
        }),
      ),
    ),
    // Added within v1 (schema 1.4), optional for the same reason as the 1.1 fields below.
    authorityChangeId: Type.Optional(
      nullable(
        Type.String({
          description:
            "Causation: the eventId of the AuthorityChanged event whose change was in force for the slice when the request was routed (flagVersion is that change's version); null while the config's initial authority holds. Since 1.4.",
        }),
      ),
    ),
    // Added within v1 (schema 1.3), optional for the same reason as the 1.1 fields below.
    owner: Type.Optional(
      nullable(Type.String({ description: "The team that owns the slice's decision (the config's owner.team); null when none is named. Since 1.3." })),
    ),
    // Added within v1 (schema 1.1): optional here so that records written before still validate;
    // Ficus's own records always carry them (the Comparison type requires them).
    rulesHash: Type.Optional(
      Type.String({
        pattern: '^sha256:[0-9a-f]{16}$',
        description: "Hash of the slice's effective translate, compare and model rules: evidence belongs to the rules it was made under. Since 1.1.",
      }),
    ),
    outcome: literals(OUTCOMES),
    family: Type.Optional(literals(FAMILIES)),
    category: literals(CATEGORIES),
    cause: nullable(
      Type.String({
        description:
          'Why: the shadow error, skip reason or primary error; for not-compared what could not be read (over-capture-cap, content-encoding <name>, media <type>, ...); for a source-data defect the rule broken ("range /body/premium/amount"); "not-converged" for a conflict that outlasted every re-ask.',
      }),
    ),
    reasked: Type.Boolean({ description: 'The shadow side was asked again (timing lag check).' }),
    reasks: Type.Optional(Type.Integer({ minimum: 0, description: 'How many times the shadow side was asked again. Since 1.1.' })),
    lagMs: Type.Optional(
      nullable(Type.Number({ minimum: 0, description: 'Timing lag: time from the first mismatch to the answer that converged. Since 1.1.' })),
    ),
    diff: Type.Array(DiffEntry),
    diffTruncated: Type.Boolean(),
    noisePaths: Type.Array(path('A path whose differences were put down to noise.'), { description: 'Paths whose differences were put down to noise.' }),
    noiseDiff: Type.Optional(
      Type.Array(DiffEntry, { description: 'The differences put down to noise, kept so that the comparison can be judged again. Since 1.1.' }),
    ),
    violations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: path('Where the translated legacy answer breaks the rule (/body/...).'),
            rule: literals(['required', 'values', 'format', 'range', 'schema']),
            detail: Type.String({ description: 'What is wrong, never the value itself.' }),
          },
          strict,
        ),
        { description: "Rules of the slice's new model (compare.model) the translated legacy answer breaks. Since 1.1." },
      ),
    ),
    untranslated: Type.Array(
      Type.Object(
        {
          path: path('Where the value is (/body/...).'),
          rule: literals(['values', 'coerce', 'fn']),
          value: Type.Optional(
            Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()], {
              description:
                'The value, where the slice allows its path in clear (compare.clearUntranslated, or compare.values.include) and it is a short scalar not redacted. Before 1.2 every short scalar.',
            }),
          ),
          valueHash: Type.Optional(hash('Salted hash of the value otherwise.')),
        },
        strict,
      ),
    ),
  },
  { ...strict, $id: 'urn:ficus:schema:comparison:1', title: 'Ficus Comparison, schema version 1' },
)

/** The schema as the JSON document published under docs/: open to properties added later. */
export function comparisonSchemaDocument(): string {
  return publishedSchemaDocument(ComparisonSchema)
}
