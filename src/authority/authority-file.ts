import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseAuthority } from '../model/authority-value.ts'
import { fail, type FicusError } from '../errors/errors.ts'
import type { AuditEntry, AuthorityState } from './authority-store.ts'

const FORMAT = 1

type PersistedState = Omit<AuthorityState, 'sliceId'>
export type PersistedSlices = Record<string, PersistedState>

/**
 * Reads a Ficus authority file (`{ format: 1, slices: { id: state } }`). Undefined when the file does
 * not exist; FICUS_ERR_AUTHORITY_STATE_CORRUPT when it exists and cannot be trusted.
 */
export async function readAuthorityFile(file: string): Promise<PersistedSlices | undefined> {
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
  if (data === null || typeof data !== 'object' || (data as { format?: unknown }).format !== FORMAT) {
    throw corrupt(file, `is not a Ficus authority file of format ${FORMAT}`)
  }
  const slices = (data as { slices?: unknown }).slices
  if (slices === null || typeof slices !== 'object' || Array.isArray(slices)) throw corrupt(file, 'has no "slices" object')
  for (const [id, state] of Object.entries(slices as Record<string, unknown>)) {
    const entry = state as Partial<AuthorityState> | null
    if (entry === null || typeof entry !== 'object') throw corrupt(file, `slices.${id}: is not an object`)
    if (!parseAuthority(entry.authority).ok) throw corrupt(file, `slices.${id}.authority: must be "legacy", "modern" or a percentage`)
    if (!Number.isInteger(entry.version) || (entry.version as number) < 0) throw corrupt(file, `slices.${id}.version: must be a whole number ≥ 0`)
  }
  return slices as PersistedSlices
}

/** Writes the file atomically: a temporary file, flushed, renamed over the old one. */
export async function writeAuthorityFile(file: string, slices: PersistedSlices): Promise<void> {
  const body = `${JSON.stringify({ format: FORMAT, slices }, null, 2)}\n`
  const temporary = `${file}.${process.pid}.tmp`
  await mkdir(dirname(file), { recursive: true })
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(body)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, file)
}

/** Appends audit entries as JSON lines and flushes them to disk. */
export async function appendAudit(file: string, entries: readonly AuditEntry[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const handle = await open(file, 'a')
  try {
    await handle.appendFile(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''))
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Reads an audit file; lines that do not parse (a write torn by a crash) are skipped and counted. */
export async function readAudit(file: string): Promise<{ entries: AuditEntry[]; skipped: number }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 }
    throw err
  }
  const entries: AuditEntry[] = []
  let skipped = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const entry = JSON.parse(line) as AuditEntry
      if (typeof entry.slice === 'string' && Number.isInteger(entry.version) && parseAuthority(entry.authority).ok)
        entries.push({ ...entry, forced: (entry as { forced?: unknown }).forced === true })
      else skipped += 1
    } catch {
      skipped += 1
    }
  }
  return { entries, skipped }
}

export function corrupt(file: string, why: string, cause?: unknown): FicusError {
  return fail.authorityStateCorrupt(
    `${file} ${why}. Ficus will not guess which side holds authority: repair the file, or move it away to start from the config's initial values`,
    { cause, details: { file } },
  )
}
