import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { GatewayConfig } from '../config/types.ts'
import { configInvalid } from '../errors/errors.ts'
import { deploymentSalt, prepareDataDir } from './data-dir.ts'
import { WORKER_COUNT_ENV, WORKER_RANK_ENV, type Settings } from './settings.ts'
import { COLLECT_TIMEOUT_MS, type PrimaryMessage, type WorkerMessage, type WorkerState } from './worker-link.ts'

// `ficus start --workers N`: this process forks N gateway workers (cluster), each a whole gateway
// (app/start-gateway.ts) on the one port, and serves nothing itself. The kernel hands connections
// to the workers (SCHED_NONE: the primary never touches a client connection). The primary relays
// what the workers tell each other (worker-link.ts), replaces a worker that dies, and drains all
// of them on SIGTERM or SIGINT.

/** Replacements of one worker in a row (each dying within STABLE_MS of its start) before the gateway gives up. */
export const MAX_RESTARTS = 5
/** A worker that ran this long before dying starts its count of restarts again. */
const STABLE_MS = 30_000
const FIRST_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 10_000
/** Differing comparisons held for worker 1 (the embedded register's writer) while it is down or starting; beyond, the newest are dropped and counted. */
export const MAX_HELD_RELAYS = 10_000
/** Beyond the config's shutdown timeout, how long the primary waits for workers to drain before killing them. */
const SHUTDOWN_MARGIN_MS = 5_000

interface Slot {
  rank: number
  worker: Worker | undefined
  ready: boolean
  startedAt: number
  /** Deaths in a row, each soon after its start. */
  failures: number
  url?: string
  adminUrl?: string
}

/** The delay before the n-th replacement in a row (1, 2, …): doubling from 250 ms, at most 10 s. */
export function restartDelay(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1))
}

/**
 * Checks what several processes cannot share, before any is forked: captured pairs kept in the data
 * directory are one writer's files (its hourly segments, purged and rewritten in place).
 */
export function checkWorkersConfig(config: GatewayConfig, workers: number, source: string): void {
  if (workers === 1 || config.capture.store !== 'data-dir') return
  const capturing = config.slices.filter((slice) => slice.capture !== null).map((slice) => slice.id)
  if (capturing.length === 0) return
  throw configInvalid(source, [
    {
      path: 'gateway.workers',
      message: `${workers} workers cannot share the data directory's captured pairs (slices ${capturing.join(', ')} capture; capture.store is "data-dir"): set capture.store to "kafka", or run one worker`,
    },
  ])
}

/** Runs the primary until every worker has stopped; resolves with the exit code. */
export async function runPrimary(options: { settings: Settings; config: GatewayConfig; workers: number; logger: Logger }): Promise<number> {
  const { settings, config, workers, logger } = options
  checkWorkersConfig(config, workers, settings.configFile)
  // What every worker would otherwise race to create: the folders and the salt of published hashes.
  await prepareDataDir(settings)
  await deploymentSalt(settings)
  cluster.schedulingPolicy = cluster.SCHED_NONE
  const slots = new Map<number, Slot>()
  for (let rank = 1; rank <= workers; rank++) slots.set(rank, { rank, worker: undefined, ready: false, startedAt: 0, failures: 0 })
  let started = false
  let stopping = false
  let exitCode = 0
  let resolveDone: (code: number) => void = () => undefined
  const done = new Promise<number>((resolve) => (resolveDone = resolve))
  const collecting = new Map<number, { requester: Slot; wanted: Set<number>; answers: unknown[]; requestId: number; timer: NodeJS.Timeout }>()
  let nextCollect = 1
  // Relays for worker 1 that arrived while it was not serving: handed to it, in order, once it listens.
  const held: PrimaryMessage[] = []
  let heldDropped = 0

  const send = (slot: Slot, message: PrimaryMessage): void => {
    if (slot.worker?.isConnected()) slot.worker.send(message)
  }
  const live = (): Slot[] => [...slots.values()].filter((slot) => slot.worker !== undefined)
  const states = (): WorkerState[] => [...slots.values()].map((slot) => ({ rank: slot.rank, pid: slot.worker?.process.pid ?? 0, ready: slot.ready }))
  const announce = (): void => {
    const message: PrimaryMessage = { ficus: 'workers', workers: states() }
    for (const slot of live()) send(slot, message)
  }
  const finishCollect = (id: number): void => {
    const pending = collecting.get(id)
    if (!pending) return
    collecting.delete(id)
    clearTimeout(pending.timer)
    send(pending.requester, { ficus: 'collect-reply', id: pending.requestId, answers: pending.answers })
  }

  const hold = (message: PrimaryMessage): void => {
    if (held.length < MAX_HELD_RELAYS) {
      held.push(message)
      return
    }
    if (heldDropped === 0)
      logger.error(
        { held: held.length },
        'worker 1 is not serving and holds too many differing comparisons for its register: dropping the newest (they stay in the event files)',
      )
    heldDropped += 1
  }
  const handOverHeld = (first: Slot): void => {
    if (held.length === 0 && heldDropped === 0) return
    logger.info({ relays: held.length, dropped: heldDropped }, 'differing comparisons held while worker 1 was not serving: handed to its register')
    for (const message of held.splice(0)) send(first, message)
    heldDropped = 0
  }

  const onMessage = (slot: Slot, message: WorkerMessage): void => {
    switch (message.ficus) {
      case 'listening':
        // A worker still starting when the stop was asked heard nothing of it: it is told now.
        if (stopping) {
          if (slot.rank !== 1 || followers().length === 0) send(slot, { ficus: 'shutdown' })
          else slot.ready = true
          return
        }
        slot.ready = true
        slot.url = message.url
        if (message.adminUrl !== '') slot.adminUrl = message.adminUrl
        if (slot.rank === 1) handOverHeld(slot)
        announce()
        if (started) logger.info({ worker: slot.rank, workerPid: slot.worker?.process.pid }, 'worker replaced: listening again')
        if (!started && [...slots.values()].every((each) => each.ready)) {
          started = true
          const first = slots.get(1)
          logger.info(
            { url: first?.url, adminUrl: first?.adminUrl, workers, pids: states().map((state) => state.pid), dataDir: settings.dataDir },
            'workers listening',
          )
        }
        return
      case 'authority-changed':
        for (const other of live()) if (other !== slot) send(other, { ficus: 'authority-changed' })
        return
      case 'collect-request': {
        const id = nextCollect++
        const others = live().filter((other) => other !== slot)
        const timer = setTimeout(() => finishCollect(id), COLLECT_TIMEOUT_MS)
        collecting.set(id, { requester: slot, wanted: new Set(others.map((other) => other.rank)), answers: [], requestId: message.id, timer })
        for (const other of others) send(other, { ficus: 'collect', id, topic: message.topic })
        if (others.length === 0) finishCollect(id)
        return
      }
      case 'collected': {
        const pending = collecting.get(message.id)
        if (!pending?.wanted.delete(slot.rank)) return
        pending.answers.push(message.answer)
        if (pending.wanted.size === 0) finishCollect(message.id)
        return
      }
      case 'relay': {
        // A differing comparison goes to worker 1 (the embedded register's writer); a decision from worker 1 to the others.
        if (message.kind === 'register') {
          const first = slots.get(1)
          if (first?.ready && first.worker?.isConnected()) send(first, message)
          else hold(message)
          return
        }
        for (const other of live()) if (other !== slot) send(other, message)
        return
      }
    }
  }

  const fork = (slot: Slot): void => {
    const worker = cluster.fork({ [WORKER_RANK_ENV]: String(slot.rank), [WORKER_COUNT_ENV]: String(workers) })
    slot.worker = worker
    slot.ready = false
    slot.startedAt = Date.now()
    worker.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && typeof (message as { ficus?: unknown }).ficus === 'string')
        onMessage(slot, message as WorkerMessage)
    })
    // Writing to a worker that just died fails (EPIPE): its exit is handled below; the write's loss is that of a dying worker.
    worker.on('error', (err) => logger.warn({ err, worker: slot.rank, workerPid: worker.process.pid }, 'message to a worker failed'))
    worker.once('exit', (code, signal) => onExit(slot, worker, code, signal))
  }

  const followers = (): Slot[] => live().filter((slot) => slot.rank !== 1)
  let firstStopped = false
  const stopFirst = (): void => {
    if (firstStopped) return
    firstStopped = true
    const first = slots.get(1)
    if (first) send(first, { ficus: 'shutdown' })
  }
  const stopAll = (reason: string, code: number): void => {
    if (stopping) return
    stopping = true
    exitCode = code
    logger.info({ reason, workers: live().length }, 'stopping every worker')
    // The other workers drain first: worker 1 writes the embedded register, and takes the
    // differing comparisons they judge while they drain. It stops once they are gone (or their time is up).
    for (const slot of followers()) send(slot, { ficus: 'shutdown' })
    if (followers().length === 0) stopFirst()
    else setTimeout(stopFirst, config.shutdownTimeoutMs).unref()
    // A worker that does not finish its drain in time is killed: the primary always exits.
    setTimeout(
      () => {
        for (const slot of live()) {
          logger.warn({ worker: slot.rank, workerPid: slot.worker?.process.pid }, 'worker still running after the shutdown timeout: killing it')
          slot.worker?.process.kill('SIGKILL')
        }
      },
      2 * config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS,
    ).unref()
    if (live().length === 0) resolveDone(exitCode)
  }

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return
    slot.worker = undefined
    slot.ready = false
    for (const [id, pending] of collecting) if (pending.wanted.delete(slot.rank) && pending.wanted.size === 0) finishCollect(id)
    if (stopping) {
      logger.info({ worker: slot.rank, workerPid: worker.process.pid, code, signal }, 'worker stopped')
      if (followers().length === 0) stopFirst()
      if (live().length === 0) resolveDone(exitCode)
      return
    }
    announce()
    if (!started) {
      // A worker that cannot start makes the gateway's start fail, as one process would (its error is on stderr).
      logger.error({ worker: slot.rank, workerPid: worker.process.pid, code, signal }, 'a worker failed to start; stopping the others')
      stopAll('start failed', 1)
      return
    }
    slot.failures = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.failures + 1
    if (slot.failures > MAX_RESTARTS) {
      logger.error({ worker: slot.rank, code, signal, restarts: MAX_RESTARTS }, 'a worker keeps dying: stopping the gateway')
      stopAll('a worker keeps dying', 1)
      return
    }
    const delayMs = restartDelay(slot.failures)
    logger.error(
      { worker: slot.rank, workerPid: worker.process.pid, code, signal, delayMs, attempt: slot.failures },
      'worker exited unexpectedly; replacing it',
    )
    setTimeout(() => {
      if (!stopping) fork(slot)
    }, delayMs)
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: killing every worker and exiting at once')
      for (const slot of live()) slot.worker?.process.kill('SIGKILL')
      process.exit(130)
    }
    logger.info({ signal }, 'shutting down')
    stopAll(signal, 0)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  logger.info({ workers, configFile: settings.configFile }, 'starting workers')
  for (const slot of slots.values()) fork(slot)
  const code = await done
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  if (held.length + heldDropped > 0)
    logger.warn(
      { relays: held.length + heldDropped },
      'differing comparisons never reached the register: worker 1 was not serving when they came (they stay in the event files)',
    )
  logger.info({ code }, 'every worker stopped')
  return code
}
