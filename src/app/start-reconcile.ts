import { randomBytes } from 'node:crypto'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { readStoredAuthority } from '../authority/read-authority.ts'
import type { GatewayConfig, SliceConfig } from '../config/types.ts'
import { fail } from '../errors/errors.ts'
import { IdentityMaps } from '../identity/identity-maps.ts'
import { createLogger } from '../observability/logger.ts'
import type { Comparison } from '../compare/comparison.ts'
import type { EventSink } from '../publish/event-sink.ts'
import { openSidecarSink, type OwnComparisonSink } from '../publish/open-sinks.ts'
import { feedRegister, type DiscrepancyRegister } from '../register/discrepancy-register.ts'
import { appendRunSummary, checkpointFile, readCheckpoint, type Checkpoint } from '../reconcile/checkpoint.ts'
import { readKeys, type KeySource, type KeySourceOptions } from '../reconcile/key-source.ts'
import { judgementTools, type RunAuthority } from '../reconcile/reconcile-ask.ts'
import { lockRuns } from '../reconcile/run-lock.ts'
import { reconcileRoute, type ReconcileRoute } from '../reconcile/reconcile-route.ts'
import { runReconciliation, type RunProgress } from '../reconcile/reconcile-run.ts'
import { runSummary, type RunSummary } from '../reconcile/run-summary.ts'
import { droppedRequestHeaders } from '../upstream/forward-headers.ts'
import { CircuitBreakers } from '../upstream/circuit-breakers.ts'
import { UpstreamPools } from '../upstream/upstream-pools.ts'
import { AUTHORITY_FILE, deploymentSalt, prepareDataDir } from './data-dir.ts'
import type { Settings } from './settings.ts'
import { sharedTriageStores } from './triage-stores.ts'

/** The lock of the data directory's one run at a time (reconcile/run-lock.ts). */
export const RECONCILE_LOCK_FILE = join('reconcile', 'run.lock')

/** A run id names files: letters, digits, `.`, `_`, `-`. */
export const RUN_ID = /^[A-Za-z0-9][\w.-]{0,63}$/

/** What the command line asks of a run; unset values come from the slice's `reconcile` settings (or the resumed run's). */
export interface ReconcileOptions {
  readonly slice: string
  readonly keys: KeySourceOptions
  readonly runId?: string | undefined
  /** The run to resume (its checkpoint in the data directory). */
  readonly resume?: string | undefined
  readonly route?: string | undefined
  readonly ratePerSecond?: number | undefined
  readonly concurrency?: number | undefined
  readonly minAgreementPercent?: number | undefined
  readonly maxErrorPercent?: number | undefined
  /** Tries of a key while a breaker is open or legacy asks to slow down, and the pause between them (defaults: reconcile-run.ts). */
  readonly retry?: { readonly maxTries: number; readonly pause: { readonly baseMs: number; readonly maxMs: number }; readonly giveUpAfter?: number } | undefined
  /** Aborted on SIGINT/SIGTERM: no key is taken any more. */
  readonly signal: AbortSignal
  /** Told once the run is ready to ask: its id and what it will ask. */
  readonly onStart?: (start: { runId: string; route: string; total: number; remaining: number; resumed: boolean; duplicates: number }) => void
  readonly onProgress?: (progress: RunProgress) => void
  readonly logger?: Logger
}

export interface ReconcileOutcome {
  readonly summary: RunSummary
  readonly stopped: boolean
  /** Why the run gave up by itself (keys in a row that spent every try): stopped, resumable. */
  readonly gaveUp: string | undefined
}

/** `rec-20261207T141500Z-3fa9c2`: sorts by start time, unique enough for one data directory. */
export function newRunId(now = new Date()): string {
  return `rec-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`
}

/**
 * A reconciliation run, composed as the gateway is: the deployment's authority (read only), upstream
 * pools and breakers, identity maps and event sink, from the same settings and config. Everything
 * opened is closed (the sink flushed) before it returns, stopped or not.
 */
export async function startReconcile(settings: Settings, config: GatewayConfig, options: ReconcileOptions): Promise<ReconcileOutcome> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel, destination: pino.destination(2) })
  const slice = config.slices.find((candidate) => candidate.id === options.slice)
  if (!slice) throw fail.unknownSlice(`unknown slice ${JSON.stringify(options.slice)} (declared: ${config.slices.map((each) => each.id).join(', ')})`)
  if (!slice.shadow)
    throw fail.reconcileRoute(
      `slice ${slice.id} has no shadow section: a run asks its sides with the shadow timeout, caps and re-asks (add shadow: { sample: 0 } to shadow no live traffic)`,
    )
  const resumed = options.resume === undefined ? undefined : await resumable(settings.dataDir, options.resume, slice)
  const runId = resumed?.runId ?? options.runId ?? newRunId()
  if (!RUN_ID.test(runId)) throw fail.cliUsage(`--run-id must be letters, digits, ".", "_" or "-" (at most 64; got ${JSON.stringify(runId)})`)
  const file = checkpointFile(settings.dataDir, runId)
  if (!resumed && (await exists(file)))
    throw fail.reconcileResume(`run ${runId} exists already (${file}): resume it with --resume ${runId}, or choose another --run-id`)
  const route = reconcileRoute(slice, options.route ?? resumed?.route ?? slice.reconcile.route)
  if (resumed && route.name !== resumed.route) throw fail.reconcileResume(`run ${runId} asked ${resumed.route}, not ${route.name}`)
  const keys = await readKeys({ ...options.keys, signal: options.signal })
  if (resumed && (keys.hash !== resumed.source.hash || keys.keys.length !== resumed.totalKeys))
    throw fail.reconcileResume(`run ${runId} read other keys (${resumed.source.description}, ${resumed.source.hash}); the source given has changed since`)
  if (resumed && (resumed.source.keyField ?? null) !== (options.keys.keyField ?? null))
    throw fail.reconcileResume(
      `run ${runId} read its keys ${resumed.source.keyField ? `from the field ${resumed.source.keyField} (--key-field ${resumed.source.keyField})` : 'one a line (no --key-field)'}`,
    )
  await prepareDataDir(settings)
  const release = await lockRuns(join(settings.dataDir, RECONCILE_LOCK_FILE), runId)
  try {
    const authority = await runAuthority(settings, slice)
    return await runOpened(settings, config, {
      ...options,
      slice,
      route,
      keys,
      keyField: options.keys.keyField ?? null,
      runId,
      file,
      resumed,
      authority,
      logger,
    })
  } finally {
    await release()
  }
}

interface Prepared {
  readonly slice: SliceConfig
  readonly route: ReconcileRoute
  readonly keys: KeySource
  readonly keyField: string | null
  readonly runId: string
  readonly file: string
  readonly resumed: Checkpoint | undefined
  readonly authority: RunAuthority
  readonly logger: Logger
}

async function runOpened(
  settings: Settings,
  config: GatewayConfig,
  run: Omit<ReconcileOptions, 'slice' | 'logger' | 'route' | 'keys'> & Prepared,
): Promise<ReconcileOutcome> {
  const { slice, logger } = run
  const ratePerSecond = run.ratePerSecond ?? slice.reconcile.ratePerSecond
  const concurrency = run.concurrency ?? slice.reconcile.concurrency
  const salt = await deploymentSalt(settings)
  const pools = new UpstreamPools(config.upstreams)
  const breakers = new CircuitBreakers(config.upstreams)
  let identity: IdentityMaps | undefined
  let sink: OwnComparisonSink | undefined
  let register: DiscrepancyRegister | undefined
  try {
    identity = await IdentityMaps.open({
      configs: config.identityMaps,
      redis: settings.redisUrl ? { url: settings.redisUrl, prefix: settings.redisPrefix } : undefined,
    })
    // A file and an outbox of its own: never the running gateway's (open-sinks.ts).
    // Write-ahead: a key is marked done once its comparison is handed to the sink, so the
    // comparison must be on disk by then — a SIGKILL must not leave done keys without comparisons.
    sink = await openSidecarSink({
      name: 'reconcile',
      kafka: settings.kafka,
      dataDir: settings.dataDir,
      config,
      logger,
      durability: { ...settings.events, mode: 'write-ahead' },
    })
    // The shared discrepancy register is fed as a gateway feeds it: by the reporter with Kafka and
    // Redis, by the run itself with Redis alone. The data directory's file register belongs to the
    // gateway that runs beside it: a run does not write it.
    let comparisons: EventSink<Comparison> = sink.sink
    if (settings.redisUrl && !settings.kafka) {
      register = sharedTriageStores({ url: settings.redisUrl, prefix: settings.redisPrefix, instance: settings.instance }, logger).register
      await register.open()
      comparisons = feedRegister(register, sink.sink)
    }
    const remaining = run.keys.keys.length - (run.resumed ? run.resumed.done.watermark + run.resumed.done.above.length : 0)
    run.onStart?.({
      runId: run.runId,
      route: run.route.name,
      total: run.keys.keys.length,
      remaining,
      resumed: run.resumed !== undefined,
      duplicates: run.keys.duplicates,
    })
    const result = await runReconciliation({
      context: {
        runId: run.runId,
        slice,
        route: run.route,
        authority: run.authority,
        calls: { pools, breakers, identity, dropped: droppedRequestHeaders(config.ownedHeaders) },
        identity,
        record: { config, instance: settings.instance, salt },
        ...judgementTools(slice, salt),
      },
      keys: run.keys.keys,
      source: { description: run.keys.description, hash: run.keys.hash, keyField: run.keyField },
      ratePerSecond,
      concurrency,
      sink: comparisons,
      checkpointFile: run.file,
      resumed: run.resumed,
      signal: run.signal,
      stopTimeoutMs: config.shutdownTimeoutMs,
      ...(run.retry ? { maxTries: run.retry.maxTries, pause: run.retry.pause } : {}),
      ...(run.retry?.giveUpAfter === undefined ? {} : { giveUpAfter: run.retry.giveUpAfter }),
      logger,
      ...(run.onProgress ? { onProgress: run.onProgress } : {}),
    })
    const summary = runSummary(
      result.checkpoint,
      { ratePerSecond, concurrency },
      {
        minAgreementPercent: run.minAgreementPercent ?? slice.reconcile.minAgreementPercent,
        maxErrorPercent: run.maxErrorPercent ?? slice.reconcile.maxErrorPercent,
      },
    )
    if (!result.stopped) await appendRunSummary(settings.dataDir, summary)
    return { summary, stopped: result.stopped, gaveUp: result.gaveUp }
  } finally {
    // The sink is flushed before the run's outcome is told: a finished run's comparisons are written.
    await sink?.close(config.shutdownTimeoutMs)
    await register?.close()
    await identity?.close()
    await pools.close()
    breakers.shutdown()
  }
}

/** The checkpoint of a run that can be resumed for this slice. */
async function resumable(dataDir: string, runId: string, slice: SliceConfig): Promise<Checkpoint> {
  if (!RUN_ID.test(runId)) throw fail.cliUsage(`--resume must name a run id (got ${JSON.stringify(runId)})`)
  const checkpoint = await readCheckpoint(checkpointFile(dataDir, runId), runId)
  if (checkpoint.finishedAt !== null)
    throw fail.reconcileResume(`run ${runId} finished at ${checkpoint.finishedAt}; nothing is left to ask (start a new run to ask again)`)
  if (checkpoint.slice !== slice.id) throw fail.reconcileResume(`run ${runId} is of slice ${checkpoint.slice}, not ${slice.id}`)
  return checkpoint
}

/** The slice's authority from the deployment's store, read only; the config's initial value when the store has none. */
async function runAuthority(settings: Settings, slice: SliceConfig): Promise<RunAuthority> {
  const stored = await readStoredAuthority(
    { redisUrl: settings.redisUrl, redisPrefix: settings.redisPrefix, file: join(settings.dataDir, AUTHORITY_FILE) },
    slice.id,
  )
  return stored ?? { authority: slice.authority, version: 0, changeId: null }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file)
    return true
  } catch {
    return false
  }
}
