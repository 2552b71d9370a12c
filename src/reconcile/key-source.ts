import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fail } from '../errors/errors.ts'

/** The keys of a reconciliation run, in the order the source gives them, each once. */
export interface KeySource {
  /** What the keys were read from (`keys.txt`, `standard input`, `export.jsonl field policyNo`). */
  readonly description: string
  /** `sha256:<hex>` of the source's bytes: a resumed run refuses a source that changed. */
  readonly hash: string
  readonly keys: readonly string[]
  /** Keys the source gave more than once (asked once). */
  readonly duplicates: number
}

export interface KeySourceOptions {
  /** A file path, or `-` for standard input. */
  readonly path: string
  /** A JSON-lines export: the top-level field that holds the key (a string or an integer). */
  readonly keyField?: string | undefined
  readonly cwd: string
  readonly stdin: NodeJS.ReadableStream
  /** Stops waiting for standard input (SIGINT, SIGTERM): the read rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined
}

/** The problems reported of a bad source before giving up: enough to fix a file, not a screenful. */
const SHOWN_PROBLEMS = 5
/** A key longer than this is no entity key (a path segment is kept well below URL limits). */
export const MAX_KEY_LENGTH = 512

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** Why a key cannot fill a path parameter, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'no key'
  if (CONTROL.test(key)) return 'the key has a control character'
  if (key.includes('/') || key.includes('\\')) return `the key ${JSON.stringify(key)} has a "/" or "\\" (a key fills one path segment)`
  if (key === '.' || key === '..') return `the key ${JSON.stringify(key)} is a dot segment`
  if (key.length > MAX_KEY_LENGTH) return `the key is longer than ${MAX_KEY_LENGTH} characters`
  return undefined
}

/**
 * Reads every key before anything is asked: one per line (blank lines and `#` comments skipped),
 * or one per JSON line from `keyField`. A bad line is FICUS_ERR_RECONCILE_KEYS naming its number.
 */
export async function readKeys(options: KeySourceOptions): Promise<KeySource> {
  const fromStdin = options.path === '-'
  let bytes: Buffer
  try {
    bytes = fromStdin ? await readAll(options.stdin, options.signal) : await readFile(resolve(options.cwd, options.path))
  } catch (err) {
    if (options.signal?.aborted) throw err
    throw fail.reconcileKeys(`cannot read ${options.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  const name = fromStdin ? 'standard input' : options.path
  // A byte order mark (exports from Windows tools) is no part of the first key or JSON line.
  const lines = bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
  const problems: string[] = []
  const seen = new Set<string>()
  const keys: string[] = []
  let duplicates = 0
  for (const [index, line] of lines.entries()) {
    const parsed = options.keyField === undefined ? plainKey(line) : jsonKey(line, options.keyField)
    if (parsed === null) continue
    const problem = typeof parsed === 'object' ? parsed.problem : keyProblem(parsed)
    if (problem !== undefined) {
      if (problems.length < SHOWN_PROBLEMS) problems.push(`line ${index + 1}: ${problem}`)
      else problems.push('')
      continue
    }
    const key = parsed as string
    if (seen.has(key)) duplicates += 1
    else {
      seen.add(key)
      keys.push(key)
    }
  }
  if (problems.length > 0) {
    const shown = problems.filter((problem) => problem !== '')
    const more = problems.length - shown.length
    throw fail.reconcileKeys(`${name}: nothing asked: ${shown.join('; ')}${more > 0 ? `; and ${more} more bad line(s)` : ''}`, {
      details: { source: name, badLines: problems.length },
    })
  }
  if (keys.length === 0) throw fail.reconcileKeys(`${name}: no keys (every line is blank or a comment)`)
  const description = options.keyField === undefined ? name : `${name} field ${options.keyField}`
  return { description, hash: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, keys, duplicates }
}

/** A plain line: the key, null for a blank line or a comment. */
function plainKey(line: string): string | null {
  const key = line.trim()
  return key === '' || key.startsWith('#') ? null : key
}

/** A JSON line: its field's value as the key, null for a blank line, or what is wrong. */
function jsonKey(line: string, field: string): string | null | { problem: string } {
  if (line.trim() === '') return null
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { problem: 'not JSON' }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'not a JSON object' }
  const key: unknown = (value as Record<string, unknown>)[field]
  if (typeof key === 'string') return key === '' ? { problem: `no key ("${field}" is empty)` } : key
  if (typeof key === 'number' && Number.isSafeInteger(key)) return String(key)
  return { problem: key === undefined ? `no key (no "${field}" field)` : `no key ("${field}" is not a string or an integer)` }
}

/** The whole stream; a producer that never closes it must not outlast a stop. */
async function readAll(stream: NodeJS.ReadableStream, signal: AbortSignal | undefined): Promise<Buffer> {
  const chunks: Buffer[] = []
  const reading = (async () => {
    for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  })()
  if (signal === undefined) await reading
  else {
    let stop: (() => void) | undefined
    const stopped = new Promise<never>((_, reject) => {
      stop = () => reject(signal.reason as Error)
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
    })
    try {
      await Promise.race([reading, stopped])
    } finally {
      if (stop) signal.removeEventListener('abort', stop)
    }
  }
  return Buffer.concat(chunks)
}
