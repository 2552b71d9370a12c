import { appendFile, open, stat } from 'node:fs/promises'
import type { IdDirection, IdentityStore, IdPair, ImportResult } from './identity-store.ts'
import { PairFileError, pairLine, readPairs, type PairFormat } from './pair-file.ts'

/**
 * An identity map kept in a file (CSV or JSON lines), read whole at open and held in memory: the
 * embedded default. A file that maps one id to two others is refused at open, with the lines.
 * Pairs added later are appended to the file; a running gateway reads them at its next start.
 */
export class FileIdentityStore implements IdentityStore {
  readonly kind = 'file'
  readonly #file: string
  readonly #format: PairFormat
  readonly #toModern = new Map<string, string>()
  readonly #toLegacy = new Map<string, string>()

  readonly #missingOk: boolean

  /** `missingOk`: a file that does not exist yet is an empty map (an import creates it). */
  constructor(file: string, format: PairFormat, options: { missingOk?: boolean } = {}) {
    this.#file = file
    this.#format = format
    this.#missingOk = options.missingOk ?? false
  }

  async open(): Promise<void> {
    let pairs: IdPair[]
    try {
      pairs = await readPairs(this.#file, this.#format)
    } catch (err) {
      if (this.#missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    const conflicts: string[] = []
    for (const pair of pairs) {
      const clash = this.#clash(pair)
      if (clash)
        conflicts.push(
          `${JSON.stringify(pair.legacy)} ↔ ${JSON.stringify(pair.modern)} clashes with ${JSON.stringify(clash.legacy)} ↔ ${JSON.stringify(clash.modern)}`,
        )
      else this.#set(pair)
      if (conflicts.length >= 10) break
    }
    if (conflicts.length > 0) throw new PairFileError(this.#file, conflicts)
  }

  get(direction: IdDirection, id: string): Promise<string | null> {
    return Promise.resolve((direction === 'to-modern' ? this.#toModern : this.#toLegacy).get(id) ?? null)
  }

  count(): Promise<number> {
    return Promise.resolve(this.#toModern.size)
  }

  async add(pairs: readonly IdPair[]): Promise<ImportResult> {
    let unchanged = 0
    const conflicts: { pair: IdPair; existing: IdPair }[] = []
    const lines: string[] = []
    for (const pair of pairs) {
      if (this.#toModern.get(pair.legacy) === pair.modern) unchanged += 1
      else {
        const existing = this.#clash(pair)
        if (existing) conflicts.push({ pair, existing })
        else {
          this.#set(pair)
          lines.push(pairLine(pair, this.#format))
        }
      }
    }
    if (lines.length > 0) await appendFile(this.#file, `${await this.#lead()}${lines.join('\n')}\n`)
    return { added: lines.length, unchanged, conflicts }
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  /** What goes before appended lines: the CSV header in a new file, a newline after a last line without one. */
  async #lead(): Promise<string> {
    let size = 0
    try {
      size = (await stat(this.#file)).size
    } catch {
      // no file yet
    }
    if (size === 0) return this.#format === 'csv' ? 'legacy,modern\n' : ''
    const handle = await open(this.#file, 'r')
    try {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      return last[0] === 0x0a ? '' : '\n'
    } finally {
      await handle.close()
    }
  }

  /** The pair already holding one of these ids, when it maps it elsewhere. */
  #clash(pair: IdPair): IdPair | undefined {
    const modern = this.#toModern.get(pair.legacy)
    if (modern !== undefined && modern !== pair.modern) return { legacy: pair.legacy, modern }
    const legacy = this.#toLegacy.get(pair.modern)
    if (legacy !== undefined && legacy !== pair.legacy) return { legacy, modern: pair.modern }
    return undefined
  }

  #set(pair: IdPair): void {
    this.#toModern.set(pair.legacy, pair.modern)
    this.#toLegacy.set(pair.modern, pair.legacy)
  }
}
