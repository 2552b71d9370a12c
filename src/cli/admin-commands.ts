import type { ParseArgsConfig } from 'node:util'
import { AdminClient } from '../admin/admin-client.ts'
import type { SliceView } from '../admin/slice-view.ts'
import type { AuditEntry, StoreStatus } from '../authority/authority-store.ts'
import type { NoisePath } from '../compare/noise-evidence.ts'
import { readAdminClientSettings } from '../app/settings.ts'
import { parseCliArgs, usageError } from './args.ts'
import { printable } from '../text/printable-text.ts'
import { textTable } from '../text/text-table.ts'

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

function parse(
  args: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  return parseCliArgs({ args: [...args], options: { ...ADMIN_OPTIONS, ...options }, allowPositionals: true, strict: true })
}

function client(values: Record<string, unknown>, env: NodeJS.ProcessEnv): AdminClient {
  return new AdminClient(readAdminClientSettings(env, values['admin-url'] as string | undefined))
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
  if (expectedVersion !== undefined && (!Number.isInteger(expectedVersion) || expectedVersion < 0))
    throw usageError(`--expect-version must be a whole number (got ${JSON.stringify(expectText)})`)
  const view = await client(values, io.env).call<SliceView & { changed?: boolean }>('PUT', `admin/slices/${encodeURIComponent(slice)}/authority`, {
    authority,
    reason,
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
    ...(values.force === true ? { force: true } : {}),
  })
  if (values.json === true) io.stdout.write(`${JSON.stringify(view, null, 2)}\n`)
  else if (view.changed === false) io.stdout.write(line(`${view.id}: already ${view.authority} (version ${view.version}); nothing changed`))
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
      entries.map((entry) => [
        entry.at,
        entry.slice,
        `${entry.previous} → ${entry.authority}`,
        String(entry.version),
        entry.forced ? `${entry.kind} (forced)` : entry.kind,
        entry.actor,
        entry.instance,
        entry.reason,
      ]),
    ),
  )
  return 0
}

interface NoiseListing {
  readonly slice: string
  readonly shadowed: boolean
  readonly paths: readonly NoisePath[]
}

const NOISE_ACTIONS = ['confirm', 'reject', 'clear'] as const

/**
 * `ficus noise <slice>`: the slice's learned noise with its evidence; `ficus noise <slice>
 * confirm|reject|clear --route "GET /…" --path /body/… --reason "…"`: an operator's decision.
 */
export async function noiseCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, { route: { type: 'string' }, path: { type: 'string' }, reason: { type: 'string' } })
  const [slice, action, ...extra] = positionals
  if (slice === undefined || extra.length > 0)
    throw usageError('usage: ficus noise <slice> [confirm|reject|clear --route "GET /…" --path /body/… --reason "…"]')
  const admin = client(values, io.env)
  if (action === undefined) {
    const listing = await admin.call<NoiseListing>('GET', `admin/slices/${encodeURIComponent(slice)}/noise`)
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify(listing, null, 2)}\n`)
      return 0
    }
    if (listing.paths.length === 0) {
      io.stdout.write(line(listing.shadowed ? `no noise evidence for ${slice} on this instance yet` : `${slice} is not shadowed`))
      return 0
    }
    io.stdout.write(
      textTable(
        ['ROUTE', 'PATH', 'STATE', 'SELF-DIFFERENCES', 'DOUBLE-ASKS', 'RATIO', 'EXPIRES', 'DECISION'],
        listing.paths.map((path) => [
          path.route,
          path.path,
          path.state,
          String(path.selfDifferences),
          String(path.doubleAsks),
          path.ratio === null ? '–' : `${(path.ratio * 100).toFixed(0)} %`,
          path.expiresAt === null ? '' : new Date(path.expiresAt).toISOString(),
          path.decision ? `${path.decision.decision} by ${path.decision.actor}: ${path.decision.reason}` : '',
        ]),
      ),
    )
    return 0
  }
  if (!(NOISE_ACTIONS as readonly string[]).includes(action)) throw usageError(`the action must be confirm, reject or clear (got ${JSON.stringify(action)})`)
  if (typeof values.route !== 'string' || typeof values.path !== 'string')
    throw usageError('--route "GET /…" and --path /body/… name the learned path (as `ficus noise <slice>` lists them)')
  const reason = requireReason(values)
  const result = await admin.call<{ decision: { decision: string; route: string; path: string; actor: string } }>(
    'POST',
    `admin/slices/${encodeURIComponent(slice)}/noise`,
    { route: values.route, path: values.path, decision: action, reason },
  )
  if (values.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else io.stdout.write(line(`${slice}: ${result.decision.route} ${result.decision.path} — ${result.decision.decision} (by ${result.decision.actor})`))
  return 0
}
