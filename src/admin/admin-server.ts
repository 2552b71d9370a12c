import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { checkAuditText, type AuthorityStore, type ChangeKind } from '../authority/authority-store.ts'
import type { ChangeJournal } from '../publish/authority-change-journal.ts'
import type { GatewayConfig, SliceConfig } from '../config/types.ts'
import { sendError } from '../http/error-reply.ts'
import { fail, FicusError } from '../errors/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import type { EventSinks } from '../publish/open-sinks.ts'
import { modernBasisPoints, parseAuthority } from '../model/authority-value.ts'
import type { EvidenceSource } from '../report/reporter/evidence-sources.ts'
import { checkNoiseDecision, type NoiseDecisionStore } from '../decisions/noise-decisions.ts'
import type { DiscrepancyRegister } from '../register/discrepancy-register.ts'
import type { TriageStore } from '../register/triage-store.ts'
import type { ShadowRunner } from '../shadow/shadow-runner.ts'
import { sliceReport, type SliceReport } from '../report/report.ts'
import { readTriage } from '../report/sources/triage-source.ts'
import { adminRequestLog, guardAdminOrigin } from './admin-guard.ts'
import { AuditTrailQuery, DEFAULT_HISTORY_LIMIT, FlipBody, KillSwitchBody, NoiseDecisionBody } from './admin-schemas.ts'
import { bearerMatches } from './bearer-auth.ts'
import { registerDashboard } from './dashboard-routes.ts'
import { registerDiscrepancyRoutes } from './discrepancy-routes.ts'
import { adminValidatorCompiler } from './request-validation.ts'
import { sliceView } from './slice-view.ts'

export { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from './admin-schemas.ts'
/** Who the audit trail names when a caller does not say. */
export const DEFAULT_ACTOR = 'admin-api'

export interface AdminDeps {
  readonly config: GatewayConfig
  readonly store: AuthorityStore
  readonly metrics: Metrics
  readonly breakers: Pick<CircuitBreakers, 'state'>
  /** The event sinks: their state is shown, accepted changes are published through them. */
  readonly sinks: Pick<EventSinks, 'status' | 'triageActions'>
  /** Applies changes with their AuthorityChanged events on disk before they are acknowledged. */
  readonly journal: ChangeJournal
  /** The evidence readiness is judged on: this instance's comparisons, or the reporter's aggregates. */
  readonly readiness: EvidenceSource
  /** The parallel run: its learned noise, with the evidence. */
  readonly shadow: Pick<ShadowRunner, 'noise'>
  /** Operators' noise decisions, shared by every instance. */
  readonly decisions: NoiseDecisionStore
  /** The discrepancy register: differing comparisons grouped by signature. */
  readonly register: Pick<DiscrepancyRegister, 'list' | 'get' | 'stats'>
  /** Triage of the register's signatures: status and audited actions. */
  readonly triage: TriageStore
  readonly logger: Logger
  /** Bearer token every /admin request must carry; none means the port is bound to loopback only. */
  readonly token: string | undefined
  /**
   * Host names the admin port answers (ports aside); null: any. Without a token only loopback names,
   * so a page that rebinds its name to 127.0.0.1 cannot reach the API.
   */
  readonly allowedHosts: readonly string[] | null
  /** True once the gateway serves traffic on a loaded config and snapshot, false again while closing. */
  readonly ready: () => boolean
}

interface SliceParams {
  id: string
}

/** Who the audit trail names: the body's `actor`, else the `x-ficus-actor` header, else DEFAULT_ACTOR. */
function actorOf(request: FastifyRequest, actor: string | undefined): string {
  const header = request.headers['x-ficus-actor']
  return actor ?? (typeof header === 'string' && header.trim() !== '' ? header : DEFAULT_ACTOR)
}

/**
 * The admin API, on its own port: slices and their live authority, flips, the kill switch, the
 * audit trail, health, readiness and Prometheus metrics. Everything under /admin needs the bearer
 * token when one is configured; /healthz, /readyz and /metrics are open for probes and scrapers.
 */
export async function buildAdminServer(deps: AdminDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger.child({ component: 'admin' })
  const app = Fastify({
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: 64 * 1024,
    // Our own line per request (adminRequestLog): fastify's would carry the URL with its query string.
    logController: new LogController({ disableRequestLogging: true }),
    // A request without Host reaches the guard (421 in our shape), not Node's bare 400.
    http: { requireHostHeader: false },
  })
  const { config, store } = deps
  const sliceIds = new Set(config.slices.map((slice) => slice.id))
  // Bodies and query strings are checked against their schemas (admin-schemas.ts) before a handler
  // runs; a refusal is already the FicusError the client reads.
  app.setValidatorCompiler(adminValidatorCompiler)
  guardAdminOrigin(app, deps.allowedHosts)
  app.addHook('onResponse', adminRequestLog)
  // The id of every admin request is in its answer: events it causes (AuthorityChanged, triage actions) carry it as requestId.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  // A refused flip answers with the verdict, so the operator sees which criteria are unmet.
  app.setErrorHandler((err: FastifyError | FicusError, request, reply) =>
    sendError(request, reply, err, err instanceof FicusError && err.details.verdict !== undefined ? { verdict: err.details.verdict } : {}),
  )
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, fail.adminNotFound(`no admin endpoint ${request.method} ${request.url.split('?')[0] ?? ''}`, { status: 404 })),
  )

  registerDashboard(app)
  app.get('/healthz', () => ({ status: 'ok' }))
  app.get('/readyz', (_request, reply) => {
    const ready = deps.ready()
    return reply.code(ready ? 200 : 503).send({ ready, store: store.status(), sink: deps.sinks.status(), config: config.version })
  })
  app.get('/metrics', async (request, reply) => {
    const { contentType, body } = await deps.metrics.exposition(request.headers.accept)
    return reply.header('vary', 'accept').type(contentType).send(body)
  })

  await app.register(
    (admin, _options, done) => {
      admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (deps.token === undefined || bearerMatches(request.headers.authorization, deps.token)) return
        reply.header('www-authenticate', 'Bearer')
        throw fail.adminUnauthorized('missing or invalid bearer token')
      })
      // Before the body is validated: an unknown slice is a 404, whatever the body says.
      const knownSlice = (request: FastifyRequest<{ Params: SliceParams }>): Promise<void> =>
        sliceIds.has(request.params.id) ? Promise.resolve() : Promise.reject(unknownSlice(request.params.id))

      admin.get('/slices', () => ({
        store: store.status(),
        sink: deps.sinks.status(),
        config: config.version,
        slices: config.slices.map((slice) => sliceView(slice, store.get(slice.id), deps.breakers)),
      }))

      admin.get<{ Params: { id: string } }>('/slices/:id', (request) => {
        const slice = config.slices.find((candidate) => candidate.id === request.params.id)
        if (!slice) throw unknownSlice(request.params.id)
        return sliceView(slice, store.get(slice.id), deps.breakers)
      })

      admin.get<{ Params: { id: string } }>('/slices/:id/report', async (request) => report(request.params.id))

      // Everything the dashboard shows at a glance, in one call.
      admin.get('/overview', async () => ({
        store: store.status(),
        sink: deps.sinks.status(),
        config: config.version,
        // A slice whose evidence cannot be read shows as such; the overview itself never fails for it.
        slices: await Promise.all(
          config.slices.map(async (slice) => {
            const view = sliceView(slice, store.get(slice.id), deps.breakers)
            try {
              return { ...view, report: await report(slice.id) }
            } catch (err) {
              if (!(err instanceof FicusError) || err.code !== 'FICUS_ERR_EVIDENCE_UNAVAILABLE') throw err
              return { ...view, report: null, evidence: 'unavailable', evidenceError: err.message }
            }
          }),
        ),
      }))

      admin.put<{ Params: SliceParams; Body: FlipBody }>(
        '/slices/:id/authority',
        { schema: { body: FlipBody }, preValidation: knownSlice },
        async (request) => {
          const { authority, reason, expectedVersion, actor, force } = request.body
          const forced = await guard(request.params.id, authority, force === true)
          const [state] = await deps.journal.commit(
            store,
            {
              changes: [{ sliceId: request.params.id, authority, ...(expectedVersion === undefined ? {} : { expectedVersion }) }],
              actor: actorOf(request, actor),
              reason,
              kind: 'flip',
              forced,
              requestId: request.id,
            },
            config.version,
          )
          const slice = config.slices.find((candidate) => candidate.id === request.params.id)
          if (state && !state.changed) {
            // Nothing to do: no version, no audit entry, no event — and the answer says so.
            request.log.info({ slice: request.params.id, authority: state.authority, version: state.version }, 'authority unchanged: the slice already has it')
            return {
              ...(slice ? sliceView(slice, state, deps.breakers) : {}),
              changed: false,
              message: `slice ${request.params.id} already has authority ${state.authority}; nothing changed`,
            }
          }
          recordChanges(deps, 'flip', [request.params.id])
          request.log.info({ slice: request.params.id, authority: state?.authority, version: state?.version, actor: state?.actor }, 'authority changed')
          return { ...(slice ? sliceView(slice, state, deps.breakers) : {}), changed: true }
        },
      )

      // The audit trails' `slice` parameter, before the schema checks the rest: one known slice id, or a 404.
      const knownSliceParameter = (request: FastifyRequest<{ Querystring: { slice?: unknown } }>): Promise<void> => {
        const { slice } = request.query
        return slice === undefined || (typeof slice === 'string' && sliceIds.has(slice)) ? Promise.resolve() : Promise.reject(unknownSliceParameter())
      }
      // No body at all reads as an empty one, so that it is told what is missing (the reason).
      const noBodyIsEmpty = (request: FastifyRequest): Promise<void> => {
        request.body ??= {}
        return Promise.resolve()
      }
      admin.post<{ Body: KillSwitchBody }>('/kill-switch', { schema: { body: KillSwitchBody }, preValidation: noBodyIsEmpty }, async (request) => {
        const { reason, slices: named, actor } = request.body
        const targets = named ?? [...sliceIds]
        for (const id of targets) if (!sliceIds.has(id)) throw unknownSlice(id)
        // Every named slice goes to the store, which decides what is already on legacy there: this
        // instance's snapshot may be behind it, or the store may have lost what the snapshot holds.
        const change = {
          changes: targets.map((sliceId) => ({ sliceId, authority: 'legacy' })),
          actor: actorOf(request, actor),
          reason,
          kind: 'kill-switch' as const,
          requestId: request.id,
        }
        checkAuditText(change)
        if (targets.length === 0) return { changed: [], unchanged: [] }
        const applied = await deps.journal.commit(store, change, config.version)
        const states = applied.filter((state) => state.changed)
        recordChanges(
          deps,
          'kill-switch',
          states.map((state) => state.sliceId),
        )
        if (states.length > 0) request.log.warn({ slices: states.map((state) => state.sliceId), actor: change.actor }, 'kill switch: slices returned to legacy')
        return {
          changed: states.map((state) => ({ id: state.sliceId, version: state.version })),
          unchanged: applied.filter((state) => !state.changed).map((state) => state.sliceId),
        }
      })

      // Learned noise: every path this instance has evidence on, its state and the decision in force.
      admin.get<{ Params: { id: string } }>('/slices/:id/noise', (request) => {
        const slice = config.slices.find((candidate) => candidate.id === request.params.id)
        if (!slice) throw unknownSlice(request.params.id)
        return {
          slice: slice.id,
          shadowed: slice.shadow !== null,
          settings: slice.shadow?.noise ?? null,
          critical: slice.compare.critical,
          paths: deps.shadow.noise(slice.id),
        }
      })

      // An operator confirms a learned path (noise until cleared), rejects one (never noise), or clears the decision.
      admin.post<{ Params: SliceParams; Body: NoiseDecisionBody }>(
        '/slices/:id/noise',
        { schema: { body: NoiseDecisionBody }, preValidation: knownSlice },
        async (request) => {
          const { route, path, decision, reason, actor } = request.body
          const input = checkNoiseDecision({ slice: request.params.id, route, path, decision, reason, actor: actorOf(request, actor) }, config.slices)
          const record = await deps.decisions.decide(input)
          request.log.info({ slice: record.slice, route: record.route, path: record.path, decision: record.decision, actor: record.actor }, 'noise decision')
          return { decision: record, paths: deps.shadow.noise(record.slice) }
        },
      )

      admin.get<{ Querystring: AuditTrailQuery }>(
        '/noise-decisions',
        { schema: { querystring: AuditTrailQuery }, preValidation: knownSliceParameter },
        async (request) => {
          const { slice, limit = DEFAULT_HISTORY_LIMIT } = request.query as { slice?: string; limit?: number }
          return { entries: await deps.decisions.history({ ...(slice === undefined ? {} : { slice }), limit }) }
        },
      )

      admin.get<{ Querystring: AuditTrailQuery }>(
        '/history',
        { schema: { querystring: AuditTrailQuery }, preValidation: knownSliceParameter },
        async (request) => {
          const { slice, limit = DEFAULT_HISTORY_LIMIT } = request.query as { slice?: string; limit?: number }
          return { entries: await store.history({ ...(slice === undefined ? {} : { slice }), limit }) }
        },
      )

      const sliceOf = (id: string): SliceConfig | undefined => config.slices.find((candidate) => candidate.id === id)
      const ownerOf = (slice: string): string | null => sliceOf(slice)?.owner?.team ?? null
      const rulesOf = (slice: string): string | undefined => sliceOf(slice)?.compare.rulesHash
      registerDiscrepancyRoutes(admin, {
        register: deps.register,
        triage: deps.triage,
        knownSliceParameter,
        actorOf,
        ownerOf,
        rulesOf,
        events: deps.sinks.triageActions,
      })
      done()
    },
    { prefix: '/admin' },
  )
  /** The report of one slice from the readiness source, with the triage of its register's signatures. */
  async function report(id: string): Promise<SliceReport & { evidence: string }> {
    const slice = config.slices.find((candidate) => candidate.id === id)
    if (!slice) throw unknownSlice(id)
    const [versions, triage] = await Promise.all([deps.readiness.versions(id), readTriage(deps, id)])
    return { ...sliceReport(id, versions, slice, { triage: triage(id) }), evidence: deps.readiness.kind }
  }

  /**
   * The readiness guard: moving traffic towards modern (to modern, or a higher percentage) needs a
   * ready slice, or `force`, which the audit trail records. Moving back is always allowed.
   */
  async function guard(id: string, authority: unknown, force: boolean): Promise<boolean> {
    const next = parseAuthority(authority)
    const current = store.get(id)
    if (!next.ok || !current || next.modernBasisPoints <= modernBasisPoints(current.authority)) return false
    // A forced flip never waits for evidence: the guard is not consulted, and the change is recorded as forced.
    if (force) return true
    // Evidence that cannot be read refuses at once (FICUS_ERR_EVIDENCE_UNAVAILABLE, 503).
    const { readiness } = await report(id)
    if (readiness.ready) return false
    const unmet = readiness.criteria.filter((criterion) => !criterion.met)
    throw fail.notReady(
      `slice ${JSON.stringify(id)} is not ready for more modern traffic: ${unmet.map((criterion) => `${criterion.id} (${criterion.detail})`).join('; ')}. Send force with a reason to flip anyway`,
      { details: { slice: id, verdict: readiness } },
    )
  }

  return app
}

function unknownSlice(id: string): FicusError {
  return fail.unknownSlice(`unknown slice ${JSON.stringify(id)}`, { details: { slice: id } })
}

/** A query string's value is never echoed (it would reach the log): the message names the parameter. */
function unknownSliceParameter(): FicusError {
  return fail.unknownSlice('unknown slice: the slice query parameter names no slice of this config')
}

function recordChanges(deps: AdminDeps, kind: ChangeKind, slices: readonly string[]): void {
  for (const slice of slices) deps.metrics.recordChange(slice, kind)
}
