import { randomBytes } from 'node:crypto'
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fail, type FicusError } from '../errors/errors.ts'
import { AUTHORITY_CHANGES_DIR, COMPARISONS_DIR, OUTBOX_DIR, TRIAGE_ACTIONS_DIR } from '../publish/open-sinks.ts'

// The instance's own directory (FICUS_DATA_DIR): checked before anything opens, so a problem with
// it is one FICUS_ERR_DATA_DIR line at start, and the salt of published hashes kept in it.

export const HASH_SALT_FILE = 'hash-salt'
export const AUTHORITY_FILE = 'authority.json'
export const AUDIT_FILE = 'audit.jsonl'
/** With Redis, the last snapshot seen, to start from when Redis is unreachable at start. */
export const AUTHORITY_CACHE_FILE = 'authority-cache.json'
export const NOISE_DECISIONS_FILE = 'noise-decisions.jsonl'
/** The discrepancy register without Redis (src/register/file-discrepancy-register.ts). */
export const DISCREPANCIES_FILE = 'discrepancies.json'
/** Triage actions on the register's signatures (src/register/triage-store.ts). */
export const TRIAGE_FILE = 'triage.jsonl'
/** Authority changes in progress, until their AuthorityChanged events are on disk (src/publish/authority-change-journal.ts). */
export const CHANGE_JOURNAL_FILE = 'authority-journal.jsonl'
export { AUTHORITY_CHANGES_DIR, COMPARISONS_DIR, OUTBOX_DIR, TRIAGE_ACTIONS_DIR }

/**
 * The salt of published value hashes: kept in the data directory (created once, readable by the
 * owner only) so hashes stay comparable across restarts. Several instances share one through
 * FICUS_HASH_SALT.
 */
export async function loadSalt(dataDir: string): Promise<string> {
  const file = join(dataDir, HASH_SALT_FILE)
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw dataDirError(dataDir, file, `cannot be read (${errnoReason(err)})`, err)
  }
  const salt = randomBytes(32).toString('hex')
  try {
    await writeFile(file, `${salt}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    // Another process created it first: use theirs.
    if (errnoCode(err) !== 'EEXIST') throw dataDirError(dataDir, file, `cannot be written (${errnoReason(err)})`, err)
  }
  return (await readFile(file, 'utf8')).trim()
}

/**
 * The salt of the deployment's published hashes, chosen as the gateway chooses it: FICUS_HASH_SALT
 * when set (instances that share Redis or Kafka), else the data directory's.
 */
export async function deploymentSalt(settings: { readonly hashSalt: string | undefined; readonly dataDir: string }): Promise<string> {
  return settings.hashSalt ?? (await loadSalt(settings.dataDir))
}

/** The folders the gateway writes in under the data directory, with these settings. */
function dataFolders(settings: { readonly kafka: unknown }): string[] {
  return settings.kafka ? [OUTBOX_DIR] : [COMPARISONS_DIR, AUTHORITY_CHANGES_DIR, TRIAGE_ACTIONS_DIR]
}

/**
 * Creates the data directory and the folders the gateway writes in, and checks that each is a
 * directory it can write: a problem is one FICUS_ERR_DATA_DIR naming the path at start, before
 * anything is opened — not a stack trace, nor a sink that fails on its first record.
 */
export async function prepareDataDir(settings: { readonly dataDir: string; readonly kafka: unknown }): Promise<void> {
  const root = settings.dataDir
  for (const dir of [root, ...dataFolders(settings).map((name) => join(root, name))]) {
    await ensureDirectory(root, dir)
    const probe = join(dir, `.ficus-write-check-${process.pid}`)
    try {
      await writeFile(probe, '')
    } catch (err) {
      throw dataDirError(root, dir, `is not writable (${errnoReason(err)})`, err)
    }
    await unlink(probe).catch(() => undefined)
  }
}

/**
 * One level at a time, from the nearest existing ancestor down: Node's recursive mkdir spins for
 * ever where mkdir answers ENOENT under a parent that exists (anywhere in /proc).
 */
async function ensureDirectory(root: string, dir: string): Promise<void> {
  const missing: string[] = []
  for (let current = dir; ; current = dirname(current)) {
    const kind = await kindOf(root, current)
    if (kind === 'directory') break
    if (kind === 'other') throw dataDirError(root, current, 'is not a directory')
    missing.unshift(current)
    if (dirname(current) === current) break
  }
  for (const path of missing) {
    try {
      await mkdir(path)
    } catch (err) {
      if (errnoCode(err) === 'EEXIST' && (await kindOf(root, path)) === 'directory') continue
      throw dataDirError(root, path, `cannot be created (${errnoReason(err)})`, err)
    }
  }
}

async function kindOf(root: string, path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other'
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing'
    throw dataDirError(root, path, `cannot be read (${errnoReason(err)})`, err)
  }
}

function dataDirError(root: string, path: string, problem: string, cause?: unknown): FicusError {
  const inside = relative(root, path)
  const where = path === root ? `FICUS_DATA_DIR ${root}` : `FICUS_DATA_DIR ${root}: ${inside.startsWith('..') ? path : inside}`
  return fail.dataDir(`${where} ${problem}`, { details: { dataDir: root, path }, ...(cause === undefined ? {} : { cause }) })
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/** `EACCES: permission denied` of a Node file-system error, without the call and path it repeats. */
function errnoReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split(', ')[0] ?? message
}
