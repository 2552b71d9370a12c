import type { MetricsJson } from '../observability/metrics.ts'

// The worker's side of `ficus start --workers`: what a worker tells the primary and hears from it,
// over the IPC channel cluster.fork opened. Every message is an object with a `ficus` field, so
// nothing else on the channel (cluster's own messages) is mistaken for one.

/** Messages a worker sends to the primary. */
export type WorkerMessage =
  | { readonly ficus: 'listening'; readonly url: string; readonly adminUrl: string }
  /** Worker 1 changed the embedded authority state: the primary tells every other worker. */
  | { readonly ficus: 'authority-changed' }
  /** Worker 1 answers /metrics or judges readiness: the primary asks every other worker for its part. */
  | { readonly ficus: 'collect-request'; readonly id: number; readonly topic: CollectTopic }
  | { readonly ficus: 'collected'; readonly id: number; readonly answer: unknown }
  /** A record for worker 1 (a differing comparison for the embedded register) or from it (a noise decision). */
  | { readonly ficus: 'relay'; readonly kind: RelayKind; readonly payload: unknown }

/** Messages the primary sends to a worker. */
export type PrimaryMessage =
  | { readonly ficus: 'authority-changed' }
  | { readonly ficus: 'collect'; readonly id: number; readonly topic: CollectTopic }
  | { readonly ficus: 'collect-reply'; readonly id: number; readonly answers: readonly unknown[] }
  | { readonly ficus: 'workers'; readonly workers: readonly WorkerState[] }
  | { readonly ficus: 'relay'; readonly kind: RelayKind; readonly payload: unknown }
  /** Drain and exit, as on SIGTERM. */
  | { readonly ficus: 'shutdown' }

/** What worker 1 asks of the others: their metrics (prom-client JSON), their readiness evidence (aggregates as JSON). */
export type CollectTopic = 'metrics' | 'evidence'

/** `register`: a worker's differing comparison, to worker 1's embedded register; `decision`: worker 1's noise decision, to every worker. */
export type RelayKind = 'register' | 'decision'

/** What the primary knows of one worker. */
export interface WorkerState {
  readonly rank: number
  readonly pid: number
  /** Listening and not shutting down. */
  readonly ready: boolean
}

/** How long worker 1 waits for the other workers' parts before answering with those it has. */
export const COLLECT_TIMEOUT_MS = 2_000

/** A worker's channel to the primary, as the gateway's composition uses it. */
export interface WorkerLink {
  readonly rank: number
  listening(url: string, adminUrl: string): void
  authorityChanged(): void
  onAuthorityChanged(listener: () => void): void
  /** Worker 1: every other worker's metrics (those that answered within COLLECT_TIMEOUT_MS). */
  otherMetrics(): Promise<MetricsJson[]>
  /** Worker 1: every other worker's readiness evidence (those that answered within COLLECT_TIMEOUT_MS). */
  otherEvidence(): Promise<unknown[]>
  /** Every worker: how to answer the primary's request for this worker's part. */
  serve(topic: CollectTopic, answer: () => Promise<unknown>): void
  /** Worker 1: the workers as the primary last described them. */
  workers(): readonly WorkerState[]
  relay(kind: RelayKind, payload: unknown): void
  onRelay(kind: RelayKind, listener: (payload: unknown) => void): void
}

function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === 'object' && message !== null && typeof (message as { ficus?: unknown }).ficus === 'string'
}

/** The link of this process, a worker forked by `ficus start --workers` (it has an IPC channel). */
export function openWorkerLink(rank: number): WorkerLink {
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message)
  }
  const authorityListeners: (() => void)[] = []
  const relayListeners = new Map<RelayKind, ((payload: unknown) => void)[]>()
  const waiting = new Map<number, (answers: readonly unknown[]) => void>()
  const served = new Map<CollectTopic, () => Promise<unknown>>()
  let workers: readonly WorkerState[] = []
  let nextId = 1
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return
    switch (message.ficus) {
      case 'authority-changed':
        for (const listener of authorityListeners) listener()
        return
      case 'collect':
        void (served.get(message.topic)?.() ?? Promise.resolve([])).then(
          (answer) => send({ ficus: 'collected', id: message.id, answer }),
          () => send({ ficus: 'collected', id: message.id, answer: [] }),
        )
        return
      case 'collect-reply':
        waiting.get(message.id)?.(message.answers)
        waiting.delete(message.id)
        return
      case 'workers':
        workers = message.workers
        return
      case 'relay':
        for (const listener of relayListeners.get(message.kind) ?? []) listener(message.payload)
        return
      case 'shutdown':
        // Handled where the process waits for its signals (cli/cli.ts serve).
        return
    }
  })
  const collect = (topic: CollectTopic): Promise<unknown[]> =>
    new Promise((resolve) => {
      const id = nextId++
      // The primary answers within its own timeout; this one only guards against a primary that is gone.
      const timer = setTimeout(() => {
        waiting.delete(id)
        resolve([])
      }, COLLECT_TIMEOUT_MS * 2)
      waiting.set(id, (answers) => {
        clearTimeout(timer)
        resolve([...answers])
      })
      send({ ficus: 'collect-request', id, topic })
    })
  return {
    rank,
    listening: (url, adminUrl) => send({ ficus: 'listening', url, adminUrl }),
    authorityChanged: () => send({ ficus: 'authority-changed' }),
    onAuthorityChanged: (listener) => void authorityListeners.push(listener),
    otherMetrics: () => collect('metrics') as Promise<MetricsJson[]>,
    otherEvidence: () => collect('evidence'),
    serve: (topic, answer) => served.set(topic, answer),
    workers: () => workers,
    relay: (kind, payload) => send({ ficus: 'relay', kind, payload }),
    onRelay: (kind, listener) => relayListeners.set(kind, [...(relayListeners.get(kind) ?? []), listener]),
  }
}
