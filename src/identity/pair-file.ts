import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { idProblem, type IdPair } from './identity-store.ts'

export type PairFormat = 'csv' | 'jsonl'

/** Problems reported before reading stops: enough to fix a file, not a flood. */
const MAX_PROBLEMS = 10

/** A pair file that cannot be used: every problem with its line number. */
export class PairFileError extends Error {
  readonly problems: readonly string[]

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.join('; ')}`)
    this.problems = problems
  }
}

/** The format of a pair file by its extension, undefined when neither. */
export function formatOf(file: string): PairFormat | undefined {
  return file.endsWith('.csv') ? 'csv' : file.endsWith('.jsonl') ? 'jsonl' : undefined
}

/**
 * Reads pairs from CSV (header `legacy,modern`, fields optionally in double quotes) or JSON lines
 * (`{"legacy":"…","modern":"…"}`), one pair per line, blank lines skipped. Throws a PairFileError
 * naming each bad line (up to ten) before any pair is handed on when the input has problems.
 */
export async function readPairs(input: string | Readable, format: PairFormat, source = typeof input === 'string' ? input : 'input'): Promise<IdPair[]> {
  const stream = typeof input === 'string' ? createReadStream(input, { encoding: 'utf8' }) : input
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  const pairs: IdPair[] = []
  const problems: string[] = []
  let number = 0
  let columns: { legacy: number; modern: number } | undefined
  for await (const raw of lines) {
    number += 1
    // A byte-order mark some editors write at the start of a file is not part of the first line.
    const line = number === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw
    if (line.trim() === '') continue
    if (format === 'csv' && columns === undefined) {
      const header = csvFields(line)?.map((field) => field.trim().toLowerCase())
      columns = { legacy: header?.indexOf('legacy') ?? -1, modern: header?.indexOf('modern') ?? -1 }
      if (columns.legacy < 0 || columns.modern < 0) throw new PairFileError(source, [`line ${number}: the first line must be the header "legacy,modern"`])
      continue
    }
    const parsed = format === 'csv' ? csvPair(line, columns ?? { legacy: 0, modern: 1 }) : jsonPair(line)
    if (typeof parsed === 'string') problems.push(`line ${number}: ${parsed}`)
    else pairs.push(parsed)
    if (problems.length >= MAX_PROBLEMS) break
  }
  if (problems.length > 0) {
    lines.close()
    stream.destroy()
    throw new PairFileError(source, problems)
  }
  return pairs
}

function checked(legacy: unknown, modern: unknown): IdPair | string {
  const legacyProblem = idProblem(legacy)
  if (legacyProblem) return `the legacy id ${legacyProblem}`
  const modernProblem = idProblem(modern)
  if (modernProblem) return `the new id ${modernProblem}`
  return { legacy: legacy as string, modern: modern as string }
}

function jsonPair(line: string): IdPair | string {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return 'is not JSON'
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'is not an object {"legacy": …, "modern": …}'
  const { legacy, modern } = value as Record<string, unknown>
  return checked(legacy, modern)
}

function csvPair(line: string, columns: { legacy: number; modern: number }): IdPair | string {
  const fields = csvFields(line)
  if (!fields) return 'has an unterminated quoted field'
  return checked(fields[columns.legacy], fields[columns.modern])
}

/**
 * The fields of one CSV line (RFC 4180 quoting within the line): an unquoted field is trimmed, a
 * quoted one kept exactly; undefined when a quote is left open.
 */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = []
  let field = ''
  let quoted = false
  let wasQuoted = false
  const end = (): void => {
    fields.push(wasQuoted ? field : field.trim())
    field = ''
    wasQuoted = false
  }
  for (let at = 0; at < line.length; at++) {
    const char = line.charAt(at)
    if (quoted) {
      if (char === '"' && line[at + 1] === '"') {
        field += '"'
        at += 1
      } else if (char === '"') quoted = false
      else field += char
    } else if (char === '"' && field.trim() === '' && !wasQuoted) {
      field = ''
      quoted = true
      wasQuoted = true
    } else if (char === ',') end()
    else if (!wasQuoted || char.trim() !== '') field += char
  }
  if (quoted) return undefined
  end()
  return fields
}

/** One pair as a line of the given format (for appending to a pair file). */
export function pairLine(pair: IdPair, format: PairFormat): string {
  if (format === 'jsonl') return JSON.stringify({ legacy: pair.legacy, modern: pair.modern })
  const quote = (id: string): string => (/[",\s]/.test(id) ? `"${id.replaceAll('"', '""')}"` : id)
  return `${quote(pair.legacy)},${quote(pair.modern)}`
}
