import type { ParseArgsConfig } from 'node:util'
import { resolve } from 'node:path'
import { configFileSetting, readConfigTimeout, readSettings } from '../app/settings.ts'
import { loadConfig } from '../config/load.ts'
import { fail } from '../errors/errors.ts'
import { IdentityMaps } from '../identity/identity-maps.ts'
import type { IdPair, ImportResult } from '../identity/identity-store.ts'
import { formatOf, PairFileError, readPairs, type PairFormat } from '../identity/pair-file.ts'
import { printable } from '../text/printable-text.ts'
import { textTable } from '../text/text-table.ts'
import { parseCliArgs, usageError } from './args.ts'

const OPTIONS = {
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  to: { type: 'string' },
  format: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/** What the command reads and writes: the CLI's streams, environment and working directory. */
export interface IdsIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly cwd: string
}

/** Longest wait for one Redis command of an import or a count. */
const CLI_COMMAND_TIMEOUT_MS = 30_000

/** Conflicts printed by an import; the count says how many there were in all. */
const SHOWN_CONFLICTS = 20

/**
 * `ficus ids import|lookup|count`: the routes config's identity maps, read and written where they
 * are kept (the file, or Redis with REDIS_URL), without a running gateway.
 */
export async function idsCommand(args: readonly string[], io: IdsIo): Promise<number> {
  const { values, positionals } = parseCliArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true })
  const [action, map, ...rest] = positionals
  const env = typeof values.config === 'string' ? { ...io.env, FICUS_CONFIG: values.config } : io.env
  const settings = readSettings(env, { isTTY: false, cwd: io.cwd })
  const config = await loadConfig(configFileSetting(env), io.cwd, { timeoutMs: readConfigTimeout(env) })
  const configs = action === 'count' && map === undefined ? config.identityMaps : new Map(map === undefined ? [] : [[map, config.identityMaps.get(map)]])
  if (map !== undefined && !config.identityMaps.has(map))
    throw usageError(`unknown identity map ${JSON.stringify(map)} (declared: ${[...config.identityMaps.keys()].join(', ') || 'none'})`)
  const maps = await IdentityMaps.open({
    configs: new Map([...configs].flatMap(([name, value]) => (value ? [[name, value] as const] : []))),
    redis: settings.redisUrl ? { url: settings.redisUrl, prefix: settings.redisPrefix } : undefined,
    cwd: io.cwd,
    missingFilesOk: action === 'import',
    // Off the request path: a batch of 500 pairs may take longer than a lookup's bound.
    commandTimeoutMs: CLI_COMMAND_TIMEOUT_MS,
  })
  try {
    if (action === 'count' && rest.length === 0) return await count(maps, values.json, io)
    if (action === 'lookup' && map !== undefined && rest.length === 1) return await lookup(maps, map, rest[0] ?? '', values, io)
    if (action === 'import' && map !== undefined && rest.length === 1) return await importPairs(maps, map, rest[0] ?? '', values, io)
    throw usageError('usage: ficus ids import <map> <file|-> | lookup <map> <id> [--to modern|legacy] | count [<map>]')
  } finally {
    await maps.close()
  }
}

async function count(maps: IdentityMaps, json: boolean, io: IdsIo): Promise<number> {
  const rows = await Promise.all(
    maps.names.map(async (name) => ({ map: name, store: maps.store(name).kind, pairs: await storeCall(name, () => maps.store(name).count()) })),
  )
  if (json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  else
    io.stdout.write(
      textTable(
        ['MAP', 'KEPT IN', 'PAIRS'],
        rows.map((row) => [row.map, row.store, String(row.pairs)]),
      ),
    )
  return 0
}

async function lookup(maps: IdentityMaps, map: string, id: string, values: Record<string, unknown>, io: IdsIo): Promise<number> {
  const to = values.to ?? 'modern'
  if (to !== 'modern' && to !== 'legacy') throw usageError(`--to must be modern (the id given is legacy's) or legacy (got ${JSON.stringify(to)})`)
  const found = await maps.lookup(map, to === 'modern' ? 'to-modern' : 'to-legacy', id)
  if (found.kind === 'unavailable') throw fail.identityUnavailable(`identity map ${JSON.stringify(map)} did not answer: ${found.reason}`)
  if (values.json === true) io.stdout.write(`${JSON.stringify({ map, id, to, found: found.kind === 'found' ? found.id : null })}\n`)
  else if (found.kind === 'found') io.stdout.write(`${printable(found.id)}\n`)
  else io.stderr.write(`ficus: no ${to} id for ${printable(JSON.stringify(id))} in ${map}\n`)
  return found.kind === 'found' ? 0 : 1
}

async function importPairs(maps: IdentityMaps, map: string, file: string, values: Record<string, unknown>, io: IdsIo): Promise<number> {
  const format = pairFormat(file, values.format)
  let pairs: IdPair[]
  try {
    pairs = file === '-' ? await readPairs(process.stdin, format, 'standard input') : await readPairs(resolve(io.cwd, file), format)
  } catch (err) {
    const why = err instanceof PairFileError ? err.message : `${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (${file})`
    throw fail.identityMapUnreadable(`nothing imported: ${why}`, { cause: err })
  }
  const result = await storeCall(map, () => maps.store(map).add(pairs))
  if (values.json === true) io.stdout.write(`${JSON.stringify({ map, ...result }, null, 2)}\n`)
  else printImport(map, result, io)
  return result.conflicts.length > 0 ? 1 : 0
}

function printImport(map: string, result: ImportResult, io: IdsIo): void {
  io.stdout.write(`${map}: ${result.added} added, ${result.unchanged} already there, ${result.conflicts.length} refused\n`)
  for (const { pair, existing } of result.conflicts.slice(0, SHOWN_CONFLICTS)) {
    const text = `refused ${JSON.stringify(pair.legacy)} ↔ ${JSON.stringify(pair.modern)}: the map has ${JSON.stringify(existing.legacy)} ↔ ${JSON.stringify(existing.modern)}`
    io.stdout.write(`${printable(text)}\n`)
  }
  if (result.conflicts.length > SHOWN_CONFLICTS) io.stdout.write(`… and ${result.conflicts.length - SHOWN_CONFLICTS} more refused (--json lists all)\n`)
}

function pairFormat(file: string, given: unknown): PairFormat {
  if (given === 'csv' || given === 'jsonl') return given
  if (given !== undefined) throw usageError(`--format must be csv or jsonl (got ${JSON.stringify(given)})`)
  const format = formatOf(file)
  if (!format) throw usageError(`cannot tell the format of ${JSON.stringify(file)}: name it .csv or .jsonl, or give --format csv|jsonl`)
  return format
}

/** A store call whose failure (Redis down) is one clear line, not a stack. */
async function storeCall<T>(map: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw fail.identityUnavailable(`identity map ${JSON.stringify(map)} did not answer: ${(err as Error).message}`, { cause: err })
  }
}
