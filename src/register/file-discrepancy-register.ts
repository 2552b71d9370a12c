import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { Comparison } from '../compare/comparison.ts'
import {
  DEFAULT_MAX_SIGNATURES,
  MAX_EXAMPLES,
  MAX_RULES_HASHES,
  type DiscrepancyEntry,
  type DiscrepancyQuery,
  type DiscrepancyRegister,
  type RegisterStats,
} from './discrepancy-register.ts'
import { signatureOf, type DiscrepancySignature } from './discrepancy-signature.ts'
import { DistinctCount } from './distinct-count.ts'

const FILE_VERSION = 1
const DEFAULT_PERSIST_INTERVAL_MS = 5_000

interface Held {
  readonly signature: DiscrepancySignature
  count: number
  firstSeen: string
  lastSeen: string
  readonly entities: DistinctCount
  examples: string[]
  /** rules hash → the latest request time seen under it (ISO), the newest MAX_RULES_HASHES. */
  readonly rules: Map<string, string>
}

interface StoredEntry extends Omit<DiscrepancyEntry, 'entities' | 'rulesSeen'> {
  readonly entities: string
  /** Absent from files written before it was kept. */
  readonly rulesSeen?: DiscrepancyEntry['rulesSeen']
}

export interface FileRegisterOptions {
  readonly file: string
  readonly logger: Logger
  readonly maxSignatures?: number
  readonly persistIntervalMs?: number
  /** Read the file and never write it, nor move it aside (a report beside a running gateway). */
  readonly readOnly?: boolean
}

/**
 * The embedded register: in memory, bounded, written to one file in the data directory every few
 * seconds and at close (whole, by rename: a crash leaves the previous version), read at start.
 */
export class FileDiscrepancyRegister implements DiscrepancyRegister {
  readonly kind = 'file'
  readonly #options: FileRegisterOptions
  // In order of last change: the first entry is the one seen least recently (Map keeps insertion order).
  readonly #held = new Map<string, Held>()
  #recorded = 0
  #evicted = 0
  #dirty = false
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor(options: FileRegisterOptions) {
    this.#options = options
  }

  async open(): Promise<void> {
    await this.#load()
    if (this.#options.readOnly === true) return
    this.#timer = setInterval(() => void this.#persist(), this.#options.persistIntervalMs ?? DEFAULT_PERSIST_INTERVAL_MS)
    this.#timer.unref()
  }

  record(comparison: Comparison): void {
    const signature = signatureOf(comparison)
    if (!signature) return
    this.#recorded++
    this.#dirty = true
    let held = this.#held.get(signature.id)
    if (held) this.#held.delete(signature.id)
    else {
      held = {
        signature,
        count: 0,
        firstSeen: comparison.requestTime,
        lastSeen: comparison.requestTime,
        entities: new DistinctCount(),
        examples: [],
        rules: new Map(),
      }
      this.#makeRoom()
    }
    this.#held.set(signature.id, held)
    held.count++
    if (comparison.requestTime < held.firstSeen) held.firstSeen = comparison.requestTime
    if (comparison.requestTime > held.lastSeen) held.lastSeen = comparison.requestTime
    if (comparison.entityKey !== null) held.entities.add(comparison.entityKey)
    held.examples = [comparison.requestId, ...held.examples.filter((id) => id !== comparison.requestId)].slice(0, MAX_EXAMPLES)
    const seenUnder = held.rules.get(comparison.rulesHash)
    if (seenUnder === undefined || seenUnder < comparison.requestTime) held.rules.set(comparison.rulesHash, comparison.requestTime)
    if (held.rules.size > MAX_RULES_HASHES) held.rules.delete(oldestRules(held.rules))
  }

  list(query: DiscrepancyQuery): Promise<DiscrepancyEntry[]> {
    const found = [...this.#held.values()]
      .filter(
        (held) => (query.slice === undefined || held.signature.slice === query.slice) && (query.family === undefined || held.signature.family === query.family),
      )
      .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0))
      .slice(0, query.limit)
    return Promise.resolve(found.map(entryOf))
  }

  get(id: string): Promise<DiscrepancyEntry | undefined> {
    const held = this.#held.get(id)
    return Promise.resolve(held ? entryOf(held) : undefined)
  }

  stats(): RegisterStats {
    return { signatures: this.#held.size, recorded: this.#recorded, evicted: this.#evicted }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    if (this.#options.readOnly !== true) await this.#persist()
  }

  #makeRoom(): void {
    const max = this.#options.maxSignatures ?? DEFAULT_MAX_SIGNATURES
    while (this.#held.size >= max) {
      const oldest = this.#held.keys().next().value
      if (oldest === undefined) return
      this.#held.delete(oldest)
      this.#evicted++
    }
  }

  async #load(): Promise<void> {
    const { file } = this.#options
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      await this.#setAside(err)
      return
    }
    try {
      const stored = JSON.parse(text) as { version: number; entries: StoredEntry[] }
      if (stored.version !== FILE_VERSION || !Array.isArray(stored.entries)) throw new Error(`unknown version ${String(stored.version)}`)
      for (const entry of stored.entries) {
        const { id, slice, route, family, paths, value } = entry
        this.#held.set(id, {
          signature: { id, slice, route, family, paths, value },
          count: entry.count,
          firstSeen: entry.firstSeen,
          lastSeen: entry.lastSeen,
          entities: DistinctCount.fromBase64(entry.entities),
          examples: [...entry.examples],
          rules: new Map(
            (entry.rulesSeen ?? entry.rulesHashes.map((rulesHash) => ({ rulesHash, lastSeen: entry.lastSeen }))).map((seen) => [seen.rulesHash, seen.lastSeen]),
          ),
        })
      }
    } catch (err) {
      this.#held.clear()
      await this.#setAside(err)
    }
  }

  /** An unreadable register file is kept aside for a person to look at; the register starts empty rather than not at all. */
  async #setAside(err: unknown): Promise<void> {
    const { file, logger } = this.#options
    if (this.#options.readOnly === true) throw err
    const aside = `${file}.unreadable-${Date.now()}`
    try {
      await rename(file, aside)
      logger.error({ err, file, aside }, 'discrepancy register file unreadable: moved aside, starting empty')
    } catch (renameErr) {
      logger.error({ err, renameErr, file }, 'discrepancy register file unreadable and cannot be moved aside: starting empty, writes will be retried')
    }
  }

  /** Writes the register when it changed, one write at a time. */
  #persist(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return
      this.#dirty = false
      const { file, logger } = this.#options
      const entries: StoredEntry[] = [...this.#held.values()].map((held) => ({ ...entryOf(held), entities: held.entities.toBase64() }))
      try {
        await mkdir(dirname(file), { recursive: true })
        await writeFile(`${file}.tmp`, JSON.stringify({ version: FILE_VERSION, entries }))
        await rename(`${file}.tmp`, file)
      } catch (err) {
        this.#dirty = true
        logger.warn({ err, file }, 'discrepancy register could not be written; retrying')
      }
    })
    return this.#writing
  }
}

function entryOf(held: Held): DiscrepancyEntry {
  return {
    ...held.signature,
    count: held.count,
    firstSeen: held.firstSeen,
    lastSeen: held.lastSeen,
    entities: held.entities.count(),
    examples: held.examples,
    ...rulesOf(held.rules),
  }
}

/** The rules hashes of an entry, oldest first by the last time each was seen. */
function rulesOf(rules: ReadonlyMap<string, string>): Pick<DiscrepancyEntry, 'rulesHashes' | 'rulesSeen'> {
  const rulesSeen = [...rules]
    .map(([rulesHash, lastSeen]) => ({ rulesHash, lastSeen }))
    .sort((a, b) => (a.lastSeen < b.lastSeen ? -1 : a.lastSeen > b.lastSeen ? 1 : 0))
  return { rulesHashes: rulesSeen.map((seen) => seen.rulesHash), rulesSeen }
}

function oldestRules(rules: ReadonlyMap<string, string>): string {
  return rulesOf(rules).rulesHashes[0] as string
}
