import { randomUUID } from 'node:crypto'
import { checkAuditText } from '../authority/authority-store.ts'
import { generalise, NOISE_DECISIONS } from '../compare/noise-evidence.ts'
import type { SliceConfig } from '../config/types.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import { appendDurableLine, readDurableLines } from '../publish/durable-lines.ts'

export const NOISE_DECISION_KINDS = [...NOISE_DECISIONS, 'clear'] as const
export type NoiseDecisionKind = (typeof NOISE_DECISION_KINDS)[number]

/** An operator's decision about one noise path of one route: audited like a flip. */
export interface NoiseDecisionRecord {
  readonly id: string
  readonly slice: string
  /** `GET /pas/v1/policy/:policyNumber/status` */
  readonly route: string
  /** `/body/...` or `/headers/...`, array indexes as `*`. */
  readonly path: string
  readonly decision: NoiseDecisionKind
  readonly actor: string
  readonly reason: string
  readonly at: string
  readonly instance: string
}

export type NoiseDecisionInput = Pick<NoiseDecisionRecord, 'slice' | 'route' | 'path' | 'decision' | 'actor' | 'reason'>

/**
 * Where operators' noise decisions live: every instance applies them (a confirmed path is noise,
 * a rejected one never is, until cleared) and the audit keeps who decided what and why.
 */
export interface NoiseDecisionStore {
  readonly kind: 'file' | 'redis'
  open(): Promise<void>
  /** The decision in force per slice, route and path (cleared ones gone). */
  current(): NoiseDecisionRecord[]
  /** Every decision, newest first. */
  history(query: { slice?: string; limit: number }): Promise<NoiseDecisionRecord[]>
  decide(input: NoiseDecisionInput): Promise<NoiseDecisionRecord>
  /** Called with the decision in force for a path each time one is applied, whichever instance took it. */
  onDecision(listener: (record: NoiseDecisionRecord) => void): () => void
  close(): Promise<void>
}

/**
 * Checks a decision against the config: a known slice, one of its routes, a path of an answer, a
 * known decision, and the audit texts. Answers the record's normal form (path generalised).
 */
export function checkNoiseDecision(input: NoiseDecisionInput, slices: readonly SliceConfig[]): NoiseDecisionInput {
  const slice = slices.find((candidate) => candidate.id === input.slice)
  if (!slice) throw fail.unknownSlice(`unknown slice ${JSON.stringify(input.slice)}`, { details: { slice: input.slice } })
  const routes = slice.routes.map((route) => `${route.method} ${route.path.source}`)
  if (!routes.includes(input.route)) {
    throw fail.decisionInvalid(
      `route: ${JSON.stringify(input.route)} is not a route of ${slice.id} (its routes: ${routes.map((route) => JSON.stringify(route)).join(', ')})`,
      { details: { field: 'route' } },
    )
  }
  if (typeof input.path !== 'string' || !/^\/(body|headers)(\/|$)/.test(input.path) || input.path.length > 500) {
    throw fail.decisionInvalid(`path: must be a JSON pointer into an answer, /body/... or /headers/<name> (got ${JSON.stringify(input.path)})`, {
      details: { field: 'path' },
    })
  }
  if (!(NOISE_DECISION_KINDS as readonly unknown[]).includes(input.decision)) {
    throw fail.decisionInvalid(`decision: must be one of ${NOISE_DECISION_KINDS.join(', ')} (got ${JSON.stringify(input.decision)})`, {
      details: { field: 'decision' },
    })
  }
  try {
    checkAuditText(input)
  } catch (err) {
    throw fail.decisionInvalid((err as Error).message, { details: (err as FicusError).details })
  }
  return { ...input, path: generalise(input.path) }
}

const key = (record: Pick<NoiseDecisionRecord, 'slice' | 'route' | 'path'>): string => `${record.slice}\0${record.route}\0${record.path}`

/**
 * The decisions in force: per slice, route and path the latest by time (a clear is kept as a
 * tombstone), so records that arrive out of order — a push before a replay — end the same.
 */
export class DecisionState {
  readonly #latest = new Map<string, NoiseDecisionRecord>()
  readonly #seen = new Set<string>()

  /** Applies one record (once, by id); true when it was new. */
  apply(record: NoiseDecisionRecord): boolean {
    if (this.#seen.has(record.id)) return false
    this.#seen.add(record.id)
    const known = this.#latest.get(key(record))
    if (!known || known.at < record.at || (known.at === record.at && known.id < record.id)) this.#latest.set(key(record), record)
    return true
  }

  current(): NoiseDecisionRecord[] {
    return [...this.#latest.values()].filter((record) => record.decision !== 'clear')
  }

  /** The record in force for one path (a clear included), if any. */
  latest(record: Pick<NoiseDecisionRecord, 'slice' | 'route' | 'path'>): NoiseDecisionRecord | undefined {
    return this.#latest.get(key(record))
  }
}

export class Listeners<T> {
  readonly #listeners = new Set<(value: T) => void>()

  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  emit(value: T): void {
    for (const listener of this.#listeners) listener(value)
  }
}

/** The embedded default: an append-only JSON-lines log in the data directory, flushed before a decision counts. */
export class FileNoiseDecisionStore implements NoiseDecisionStore {
  readonly kind = 'file'
  readonly #file: string
  readonly #instance: string
  readonly #state = new DecisionState()
  readonly #log: NoiseDecisionRecord[] = []
  readonly #listeners = new Listeners<NoiseDecisionRecord>()
  #queue: Promise<unknown> = Promise.resolve()

  constructor(file: string, instance: string) {
    this.#file = file
    this.#instance = instance
  }

  async open(): Promise<void> {
    for (const line of (await readDurableLines(this.#file)).lines) {
      try {
        const record = JSON.parse(line) as NoiseDecisionRecord
        if (this.#state.apply(record)) this.#log.push(record)
      } catch {
        // Not a decision this version can read: skipped.
      }
    }
  }

  current(): NoiseDecisionRecord[] {
    return this.#state.current()
  }

  history(query: { slice?: string; limit: number }): Promise<NoiseDecisionRecord[]> {
    return Promise.resolve(
      [...this.#log]
        .reverse()
        .filter((record) => query.slice === undefined || record.slice === query.slice)
        .slice(0, query.limit),
    )
  }

  decide(input: NoiseDecisionInput): Promise<NoiseDecisionRecord> {
    const record: NoiseDecisionRecord = { id: randomUUID(), ...input, at: new Date().toISOString(), instance: this.#instance }
    const write = this.#queue.then(async () => {
      await appendDurableLine(this.#file, JSON.stringify(record))
      this.#state.apply(record)
      this.#log.push(record)
      this.#listeners.emit(this.#state.latest(record) ?? record)
      return record
    })
    this.#queue = write.catch(() => undefined)
    return write.catch((err: unknown) => {
      throw fail.authorityStateWrite(`the noise decision could not be written to ${this.#file}: ${(err as Error).message}`, { cause: err })
    })
  }

  onDecision(listener: (record: NoiseDecisionRecord) => void): () => void {
    return this.#listeners.add(listener)
  }

  async close(): Promise<void> {
    await this.#queue
  }
}
