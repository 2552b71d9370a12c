import { hostname, userInfo } from 'node:os'
import type { ParseArgsConfig } from 'node:util'
import { AdminClient, DEFAULT_ADMIN_URL } from './admin/admin-client.ts'
import type { SliceView } from './admin/slice-view.ts'
import type { AuditEntry, StoreStatus } from './authority/authority-store.ts'
import { parseCliArgs, usageError } from './cli-args.ts'
import { printable } from './printable-text.ts'
import { textTable } from './text-table.ts'

/** What a CLI command needs from its process: environment and output. */
export interface CommandIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
}

const ADMIN_OPTIONS = {
  'admin-url': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options']


/** One line of text output: what the admin API answered is free text, made printable. */
const line = (text: string): string => `${printable(text)}\n`

function parse(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  return parseCliArgs({ args: [...args], options: { ...ADMIN_OPTIONS, ...options }, allowPositionals: true, strict: true })
}

function defaultActor(env: NodeJS.ProcessEnv): string {
  if (env.FICUS_ACTOR !== undefined && env.FICUS_ACTOR.trim() !== '') return env.FICUS_ACTOR
  let user = env.USER ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${hostname()}`
}

function client(values: Record<string, unknown>, env: NodeJS.ProcessEnv): AdminClient {
  const baseUrl = (values['admin-url'] as string | undefined) ?? env.FICUS_ADMIN_URL ?? DEFAULT_ADMIN_URL
  const token = env.FICUS_ADMIN_TOKEN === '' ? undefined : env.FICUS_ADMIN_TOKEN
  return new AdminClient({ baseUrl, token, actor: defaultActor(env) })
}

function requireReason(values: Record<string, unknown>): string {
  const reason = values.reason
  if (typeof reason !== 'string' || reason.trim() === '') throw usageError('--reason "…" is required: the audit trail records why')
  return reason
}

/** `ficus flip <slice> <legacy|modern|N%> --reason "…" [--expect-version N] [--force]` */
export async function flipCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' }, 'expect-version': { type: 'string' }, force: { type: 'boolean', default: false } })
  const [slice, authority, ...extra] = positionals
  if (slice === undefined || authority === undefined || extra.length > 0) throw usageError('usage: ficus flip <slice> <legacy|modern|N%> --reason "…"')
  const reason = requireReason(values)
  const expectText = values['expect-version'] as string | undefined
  const expectedVersion = expectText === undefined ? undefined : Number(expectText)
  if (expectedVersion !== undefined && (!Number.isInteger(expectedVersion) || expectedVersion < 0)) throw usageError(`--expect-version must be a whole number (got ${JSON.stringify(expectText)})`)
  const view = await client(values, io.env).call<SliceView>('PUT', `admin/slices/${encodeURIComponent(slice)}/authority`, {
    authority,
    reason,
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
    ...(values.force === true ? { force: true } : {}),
  })
  if (values.json === true) io.stdout.write(`${JSON.stringify(view, null, 2)}\n`)
  else io.stdout.write(line(`${view.id}: authority ${view.authority} (version ${view.version}), by ${view.actor ?? '?'}: ${view.reason ?? ''}`))
  return 0
}

/** `ficus kill-switch [slice...] --reason "…"` */
export async function killSwitchCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' } })
  const reason = requireReason(values)
  const result = await client(values, io.env).call<{ changed: { id: string; version: number }[]; unchanged: string[] }>('POST', 'admin/kill-switch', {
    reason,
    ...(positionals.length > 0 ? { slices: positionals } : {}),
  })
  if (values.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else {
    const changed = result.changed.map((slice) => `${slice.id} (version ${slice.version})`).join(', ') || 'none'
    io.stdout.write(line(`kill switch: returned to legacy: ${changed}; already on legacy: ${result.unchanged.join(', ') || 'none'}`))
  }
  return 0
}

/** `ficus status`: one row per slice. */
export async function statusCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, {})
  if (positionals.length > 0) throw usageError('status takes no arguments')
  const result = await client(values, io.env).call<{ store: StoreStatus; config: string; slices: SliceView[] }>('GET', 'admin/slices')
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return 0
  }
  const store = `${result.store.kind} store, ${result.store.connected ? 'connected' : `NOT CONNECTED (serving the ${result.store.snapshot} snapshot)`}`
  io.stdout.write(`${line(`config ${result.config}; ${store}`)}\n`)
  io.stdout.write(
    textTable(
      ['SLICE', 'AUTHORITY', 'VERSION', 'CHANGED', 'BY', 'REASON'],
      result.slices.map((slice) => [slice.id, slice.authority, String(slice.version), slice.updatedAt ?? '(initial)', slice.actor ?? '', slice.reason ?? '']),
    ),
  )
  return 0
}

/** `ficus history [slice] [--limit N]`: newest first. */
export async function historyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, { limit: { type: 'string' } })
  if (positionals.length > 1) throw usageError('usage: ficus history [slice] [--limit N]')
  const query = new URLSearchParams()
  if (positionals[0] !== undefined) query.set('slice', positionals[0])
  if (typeof values.limit === 'string') query.set('limit', values.limit)
  const { entries } = await client(values, io.env).call<{ entries: AuditEntry[] }>('GET', `admin/history?${query.toString()}`)
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`)
    return 0
  }
  if (entries.length === 0) {
    io.stdout.write('no authority changes recorded\n')
    return 0
  }
  io.stdout.write(
    textTable(
      ['WHEN', 'SLICE', 'CHANGE', 'VERSION', 'KIND', 'BY', 'INSTANCE', 'REASON'],
      entries.map((entry) => [entry.at, entry.slice, `${entry.previous} → ${entry.authority}`, String(entry.version), entry.forced ? `${entry.kind} (forced)` : entry.kind, entry.actor, entry.instance, entry.reason]),
    ),
  )
  return 0
}
