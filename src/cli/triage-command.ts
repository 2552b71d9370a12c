import type { ParseArgsConfig } from 'node:util'
import { AdminClient } from '../admin/admin-client.ts'
import type { TriagedEntry } from '../admin/discrepancy-routes.ts'
import { readAdminClientSettings } from '../app/settings.ts'
import type { TriageRecord } from '../register/triage.ts'
import { printable } from '../text/printable-text.ts'
import { textTable } from '../text/text-table.ts'
import type { CommandIo } from './admin-commands.ts'
import { parseCliArgs, usageError } from './args.ts'

const OPTIONS = {
  'admin-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  reason: { type: 'string' },
  slice: { type: 'string' },
  family: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  approver: { type: 'string' },
  expires: { type: 'string' },
  ticket: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

type Values = Record<string, string | boolean | string[] | undefined>

const USAGE_LINE = 'usage: ficus triage list|show|assign|accept|expect-fix|mark-defect|wont-fix|reopen … (ficus triage --help)'
const line = (text: string): string => `${printable(text)}\n`

/** `ficus triage <action> …`: the discrepancy register and its triage, on a running gateway. */
export async function triageCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCliArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true })
  const [action, id, ...rest] = positionals
  const admin = new AdminClient(readAdminClientSettings(io.env, values['admin-url']))
  if (action === 'list') {
    if (id !== undefined) throw usageError('usage: ficus triage list [--slice S] [--family F] [--state S] [--limit N]')
    return list(admin, values, io)
  }
  if (action === undefined || id === undefined) throw usageError(USAGE_LINE)
  if (action === 'show') return show(admin, id, values, io)
  const body = actionBody(action, rest, values)
  const result = await admin.call<{ action: TriageRecord; discrepancy: TriagedEntry }>('POST', `admin/discrepancies/${encodeURIComponent(id)}/triage`, body)
  if (values.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else io.stdout.write(line(`${id}: ${result.discrepancy.triage.state} (${result.action.action} by ${result.action.actor}: ${result.action.reason})`))
  return 0
}

/** The body of a triage action from the command line; a usage error says what is missing. */
function actionBody(action: string, rest: readonly string[], values: Values): Record<string, string> {
  const reason = values.reason
  if (typeof reason !== 'string' || reason.trim() === '') throw usageError('--reason "…" is required: the history records why')
  const need = (name: string, what: string): string => {
    const value = values[name]
    if (typeof value !== 'string' || value.trim() === '') throw usageError(`--${name} is required to ${action}: ${what}`)
    return value
  }
  const only = (count: number, usage: string): void => {
    if (rest.length !== count) throw usageError(`usage: ficus triage ${usage}`)
  }
  switch (action) {
    case 'assign':
      only(1, 'assign <id> <assignee> --reason "…"')
      return { action, assignee: rest[0] as string, reason }
    case 'accept':
      only(0, 'accept <id> --approver NAME --expires YYYY-MM-DD --reason "…"')
      return { action, approver: need('approver', 'who approved the difference as intended'), expiresAt: need('expires', 'until when (YYYY-MM-DD)'), reason }
    case 'expect-fix':
    case 'wont-fix':
    case 'reopen':
      only(0, `${action} <id> --reason "…"`)
      return { action, reason }
    case 'mark-defect': {
      only(1, 'mark-defect <id> modern|legacy-data --ticket REF --reason "…"')
      const side = rest[0]
      if (side !== 'modern' && side !== 'legacy-data') throw usageError(`mark-defect takes modern or legacy-data (got ${JSON.stringify(side)})`)
      return { action: `mark-${side}-defect`, ticket: need('ticket', 'the ticket that tracks the fix'), reason }
    }
    default:
      throw usageError(`unknown triage action ${JSON.stringify(action)}; ${USAGE_LINE}`)
  }
}

async function list(admin: AdminClient, values: Values, io: CommandIo): Promise<number> {
  const query = new URLSearchParams()
  for (const name of ['slice', 'family', 'state', 'limit'] as const) if (typeof values[name] === 'string') query.set(name, values[name])
  const { entries } = await admin.call<{ entries: TriagedEntry[] }>('GET', `admin/discrepancies?${query.toString()}`)
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`)
    return 0
  }
  if (entries.length === 0) {
    io.stdout.write('no discrepancies in the register\n')
    return 0
  }
  io.stdout.write(
    textTable(
      ['ID', 'SLICE', 'FAMILY', 'STATE', 'COUNT', 'ENTITIES', 'LAST SEEN', 'PATHS'],
      entries.map((entry) => [
        entry.id,
        entry.slice,
        entry.family,
        `${entry.triage.state}${entry.triage.regression ? ' (regression)' : entry.triage.expired ? ' (acceptance expired)' : ''}`,
        String(entry.count),
        String(entry.entities),
        entry.lastSeen,
        entry.paths.join(' '),
      ]),
    ),
  )
  return 0
}

async function show(admin: AdminClient, id: string, values: Values, io: CommandIo): Promise<number> {
  const entry = await admin.call<TriagedEntry>('GET', `admin/discrepancies/${encodeURIComponent(id)}`)
  const { entries: history } = await admin.call<{ entries: TriageRecord[] }>('GET', `admin/discrepancies/${encodeURIComponent(id)}/history`)
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ ...entry, history }, null, 2)}\n`)
    return 0
  }
  const { triage } = entry
  io.stdout.write(line(`${entry.id}  ${entry.slice}  ${entry.route}  ${entry.family}`))
  io.stdout.write(line(`paths: ${entry.paths.join(' ')}${entry.value === null ? '' : `  value: ${entry.value}`}`))
  io.stdout.write(
    line(`seen ${entry.count} times on ${entry.entities} entities, ${entry.firstSeen} … ${entry.lastSeen}; examples: ${entry.examples.join(' ')}`),
  )
  const extra = [
    triage.assignee && `assignee ${triage.assignee}`,
    triage.approver && `approved by ${triage.approver} until ${triage.expiresAt ?? '?'}`,
    triage.ticket && `ticket ${triage.ticket}`,
  ]
  io.stdout.write(
    line(
      `state: ${triage.state}${triage.regression ? ' (regression)' : ''}${triage.expired ? ' (acceptance expired)' : ''} ${extra.filter(Boolean).join(', ')}`,
    ),
  )
  if (history.length > 0)
    io.stdout.write(
      `\n${textTable(
        ['WHEN', 'ACTION', 'BY', 'REASON'],
        history.map((record) => [record.at, record.action, record.actor, record.reason]),
      )}`,
    )
  return 0
}
