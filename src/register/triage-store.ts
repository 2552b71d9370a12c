import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { fail } from '../errors/errors.ts'
import { appendDurableLine, readDurableLines } from '../publish/durable-lines.ts'
import { applyAction, UNTRIAGED, type TriageRecord, type TriageStatus } from './triage.ts'

export type TriageInput = Omit<TriageRecord, 'id' | 'at' | 'instance'>

/** Where triage actions are kept: the audit of every action, and each signature's status from them. */
export interface TriageStore {
  readonly kind: 'file' | 'redis'
  open(): Promise<void>
  /** The status the last action on each signature left (open when none). */
  statuses(signatures: readonly string[]): Promise<Map<string, TriageStatus>>
  /** Records an action once it is durable, and answers it. */
  act(input: TriageInput): Promise<TriageRecord>
  /** Actions, newest first. */
  history(query: { signature?: string; limit: number }): Promise<TriageRecord[]>
  close(): Promise<void>
}

/** The embedded default: an append-only JSON-lines log in the data directory, fsync'd before an action counts. */
export class FileTriageStore implements TriageStore {
  readonly kind = 'file'
  readonly #file: string
  readonly #instance: string
  readonly #log: TriageRecord[] = []
  readonly #status = new Map<string, TriageStatus>()
  #queue: Promise<unknown> = Promise.resolve()

  readonly #logger: Logger

  readonly #readOnly: boolean

  /** `readOnly`: the log is read and never changed (a report beside a running gateway); `act` is refused. */
  constructor(file: string, instance: string, logger: Logger, options: { readonly readOnly?: boolean } = {}) {
    this.#file = file
    this.#instance = instance
    this.#readOnly = options.readOnly ?? false
    this.#logger = logger
  }

  async open(): Promise<void> {
    let read: Awaited<ReturnType<typeof readDurableLines>>
    try {
      read = await readDurableLines(this.#file, { readOnly: this.#readOnly })
    } catch (err) {
      throw fail.dataDir(`${this.#file} cannot be read: ${(err as Error).message}`, { cause: err })
    }
    if (read.tornBytes > 0 && !this.#readOnly)
      this.#logger.warn({ file: this.#file, bytes: read.tornBytes }, 'triage log ended in a torn line (a crash mid-write): cut off')
    let unreadable = 0
    for (const line of read.lines) {
      try {
        this.#apply(JSON.parse(line) as TriageRecord)
      } catch {
        unreadable++
      }
    }
    if (unreadable > 0) this.#logger.error({ file: this.#file, lines: unreadable }, 'triage log has lines that cannot be read: skipped')
  }

  statuses(signatures: readonly string[]): Promise<Map<string, TriageStatus>> {
    return Promise.resolve(new Map(signatures.map((signature) => [signature, this.#status.get(signature) ?? UNTRIAGED])))
  }

  act(input: TriageInput): Promise<TriageRecord> {
    if (this.#readOnly) return Promise.reject(fail.dataDir(`${this.#file} was opened read-only: triage actions go through a running gateway`))
    const record: TriageRecord = { id: randomUUID(), ...input, at: new Date().toISOString(), instance: this.#instance }
    const write = this.#queue.then(async () => {
      await appendDurableLine(this.#file, JSON.stringify(record))
      this.#apply(record)
      return record
    })
    this.#queue = write.catch(() => undefined)
    return write.catch((err: unknown) => {
      throw fail.registerUnavailable(
        `the triage action could not be written to the data directory (${(err as NodeJS.ErrnoException).code ?? 'error'}); nothing was changed`,
        { cause: err },
      )
    })
  }

  history(query: { signature?: string; limit: number }): Promise<TriageRecord[]> {
    const found: TriageRecord[] = []
    for (let at = this.#log.length - 1; at >= 0 && found.length < query.limit; at--) {
      const record = this.#log[at] as TriageRecord
      if (query.signature === undefined || record.signature === query.signature) found.push(record)
    }
    return Promise.resolve(found)
  }

  async close(): Promise<void> {
    await this.#queue
  }

  #apply(record: TriageRecord): void {
    this.#log.push(record)
    this.#status.set(record.signature, applyAction(this.#status.get(record.signature) ?? UNTRIAGED, record))
  }
}
