import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { SIDES } from '../config/schema.ts'
import { FicusError } from '../errors.ts'
import { checkChange, initialState, type AuthorityChange, type AuthorityState, type AuthorityStore } from './authority-store.ts'

const FORMAT = 1

interface PersistedFile {
  format: typeof FORMAT
  slices: Record<string, Omit<AuthorityState, 'sliceId'>>
}

export interface FileAuthorityStoreOptions {
  /** The JSON file the state lives in, e.g. `data/authority.json`. */
  readonly file: string
  /** Every slice the config declares, with its initial authority. */
  readonly slices: readonly { readonly id: string; readonly authority: AuthorityState['authority'] }[]
  /** Recorded as the instance that accepted a change. */
  readonly instance: string
  readonly now?: () => Date
}

/**
 * The embedded-default store: one process, state persisted to a JSON file so a restart keeps a
 * flip. Each change is written to a temporary file, flushed and renamed over the old one, so a
 * crash leaves either the old or the new state, never half of one.
 */
export class FileAuthorityStore implements AuthorityStore {
  readonly kind = 'file'
  readonly #options: FileAuthorityStoreOptions
  readonly #states = new Map<string, AuthorityState>()
  /** Entries for slices the current config no longer declares: kept, so nothing is lost. */
  #retired: PersistedFile['slices'] = {}
  #writing: Promise<unknown> = Promise.resolve()

  constructor(options: FileAuthorityStoreOptions) {
    this.#options = options
  }

  get file(): string {
    return this.#options.file
  }

  async open(): Promise<void> {
    const persisted = await this.#read()
    this.#states.clear()
    this.#retired = {}
    const declared = new Set(this.#options.slices.map((slice) => slice.id))
    for (const [id, state] of Object.entries(persisted?.slices ?? {})) {
      if (!declared.has(id)) this.#retired[id] = state
    }
    for (const slice of this.#options.slices) {
      const saved = persisted?.slices[slice.id]
      this.#states.set(slice.id, saved ? { sliceId: slice.id, ...saved } : initialState(slice.id, slice.authority))
    }
  }

  get(sliceId: string): AuthorityState | undefined {
    return this.#states.get(sliceId)
  }

  list(): readonly AuthorityState[] {
    return [...this.#states.values()]
  }

  set(sliceId: string, change: AuthorityChange): Promise<AuthorityState> {
    // Changes are applied one at a time so compare-and-set sees the previous change's version.
    const result = this.#writing.then(async () => {
      const current = checkChange(sliceId, this.#states.get(sliceId), change)
      const next: AuthorityState = {
        sliceId,
        authority: change.authority,
        version: current.version + 1,
        updatedAt: (this.#options.now?.() ?? new Date()).toISOString(),
        actor: change.actor,
        reason: change.reason,
        instance: this.#options.instance,
      }
      const states = new Map(this.#states).set(sliceId, next)
      await this.#write(states)
      this.#states.set(sliceId, next)
      return next
    })
    this.#writing = result.catch(() => undefined)
    return result
  }

  async close(): Promise<void> {
    await this.#writing
  }

  async #read(): Promise<PersistedFile | undefined> {
    const { file } = this.#options
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw corrupt(file, `cannot be read (${(err as Error).message})`, err)
    }
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (err) {
      throw corrupt(file, `is not valid JSON (${(err as Error).message})`, err)
    }
    return parsePersisted(file, data)
  }

  async #write(states: ReadonlyMap<string, AuthorityState>): Promise<void> {
    const { file } = this.#options
    const slices: PersistedFile['slices'] = { ...this.#retired }
    for (const { sliceId, ...state } of states.values()) slices[sliceId] = state
    const body = `${JSON.stringify({ format: FORMAT, slices } satisfies PersistedFile, null, 2)}\n`
    const temporary = `${file}.${process.pid}.tmp`
    try {
      await mkdir(dirname(file), { recursive: true })
      const handle = await open(temporary, 'w')
      try {
        await handle.writeFile(body)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, file)
    } catch (err) {
      throw new FicusError('FICUS_ERR_AUTHORITY_STATE_WRITE', `could not persist authority to ${file}: ${(err as Error).message}; the change was not applied`, {
        cause: err,
        details: { file },
      })
    }
  }
}

function corrupt(file: string, why: string, cause?: unknown): FicusError {
  return new FicusError(
    'FICUS_ERR_AUTHORITY_STATE_CORRUPT',
    `${file} ${why}. Ficus will not guess which side holds authority: repair the file, or move it away to start from the config's initial values`,
    { cause, details: { file } },
  )
}

function parsePersisted(file: string, data: unknown): PersistedFile {
  if (data === null || typeof data !== 'object' || (data as { format?: unknown }).format !== FORMAT) {
    throw corrupt(file, `is not a Ficus authority file of format ${FORMAT}`)
  }
  const slices = (data as { slices?: unknown }).slices
  if (slices === null || typeof slices !== 'object' || Array.isArray(slices)) throw corrupt(file, 'has no "slices" object')
  for (const [id, state] of Object.entries(slices as Record<string, unknown>)) {
    const entry = state as Partial<AuthorityState> | null
    if (entry === null || typeof entry !== 'object') throw corrupt(file, `slices.${id}: is not an object`)
    if (!(SIDES as readonly unknown[]).includes(entry.authority)) throw corrupt(file, `slices.${id}.authority: must be "legacy" or "modern"`)
    if (!Number.isInteger(entry.version) || (entry.version as number) < 0) throw corrupt(file, `slices.${id}.version: must be a whole number ≥ 0`)
  }
  return data as PersistedFile
}
