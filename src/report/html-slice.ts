import { FAMILIES } from '../compare/classify.ts'
import { agreementChart, cellBar, lagChart, latencyChart, timelineNote } from './html-charts.ts'
import { criteriaBlock } from './html-criteria.ts'
import { escapeHtml, FAMILY_TEXT, htmlTable, ms, percent, raw, shortHash, when, withInterval } from './html-text.ts'
import { triageBlock } from './html-triage.ts'
import type { SliceReport } from './report.ts'

/** One change of a slice's authority, as the audit trail records it. */
export interface AuthorityChange {
  readonly at: string
  readonly previous: string
  readonly authority: string
  readonly actor: string
  readonly reason: string
}

const none = (what: string): string => `<p class="empty">${escapeHtml(what)}</p>`
const block = (className: string, title: string, content: string): string => `<div class="block ${className}"><h3>${escapeHtml(title)}</h3>${content}</div>`
const figure = (className: string, caption: string, content: string): string =>
  `<figure class="${className}"><figcaption>${caption}</figcaption>${content}</figure>`
const familyName = (family: keyof typeof FAMILY_TEXT): string => `<span class="swatch f-${family}"></span>${escapeHtml(FAMILY_TEXT[family].label)}`

/** The few figures that decide: agreement, how much evidence, what disagrees, errors. */
function keyFigures(slice: SliceReport): string {
  const tile = (label: string, value: string, note: string, alert = false): string =>
    `<div class="tile${alert ? ' alert' : ''}"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="note">${escapeHtml(note)}</div></div>`
  const rate = slice.matchRate
  return `<div class="tiles">${[
    tile(
      'Agreement',
      percent(rate?.value),
      rate
        ? `95 % CI ${percent(rate.lower)} – ${percent(rate.upper)}; ${percent(slice.matchRateWithoutNoise?.value)} without forgiving noise`
        : 'nothing compared yet',
    ),
    tile(
      'Compared samples',
      String(slice.samples),
      `of ${slice.records} comparisons: live ${slice.origins.live}, reconciliation ${slice.origins.reconcile}, replay ${slice.origins.replay}`,
    ),
    tile('Genuine conflicts', String(slice.families['genuine-conflict']), 'answers that still differ', slice.families['genuine-conflict'] > 0),
    tile(
      'Translation defects',
      String(slice.families['translation-defect']),
      `${slice.untranslated.length} distinct untranslated value(s)`,
      slice.families['translation-defect'] > 0,
    ),
    tile('Source-data defects', String(slice.families['source-data-defect']), 'legacy data breaking the new model'),
    tile('Accepted differences', String(slice.accepted), `set apart from agreement; ${slice.disagreements} disagree`),
    tile('Modern error rate', percent(slice.errorRate.modern), `legacy ${percent(slice.errorRate.legacy)}`),
  ].join('')}</div>`
}

function familiesTable(slice: SliceReport): string {
  const causes = (family: keyof SliceReport['families']): string =>
    Object.entries(slice.causes[family] ?? {})
      .map(([cause, count]) => `${cause} ×${count}`)
      .join(', ')
  const rows = FAMILIES.map((family) => [
    raw(familyName(family)),
    slice.families[family],
    percent(slice.records === 0 ? null : slice.families[family] / slice.records),
    causes(family),
    FAMILY_TEXT[family].meaning,
  ])
  return htmlTable(
    'families',
    [{ label: 'Family' }, { label: 'Count', kind: 'num' }, { label: 'Share', kind: 'num' }, { label: 'Causes' }, { label: 'What it means' }],
    rows,
    (index) => (slice.families[FAMILIES[index] ?? 'match'] === 0 ? ' class="zero"' : ''),
  )
}

/** How agreement moves, family by family: drift after a flip, a fix taking hold. */
function hourlyTable(slice: SliceReport): string {
  if (slice.hourly.length === 0) return none('No evidence under the current rules yet.')
  const rows = slice.hourly
    .slice(-48)
    .reverse()
    .map((hour) => [
      `${hour.start.slice(0, 13).replace('T', ' ')}h`,
      percent(hour.matchRate),
      hour.families['genuine-conflict'],
      hour.families['translation-defect'],
      hour.families['source-data-defect'],
      hour.families['not-compared'],
      hour.families['shadow-error'],
    ])
  return htmlTable(
    'hourly',
    [
      { label: 'Hour (UTC)' },
      { label: 'Agreement', kind: 'num' },
      { label: 'Conflicts', kind: 'num' },
      { label: 'Translation defects', kind: 'num' },
      { label: 'Source-data defects', kind: 'num' },
      { label: 'Not compared', kind: 'num' },
      { label: 'Shadow errors', kind: 'num' },
    ],
    rows,
  )
}

function routesTable(slice: SliceReport): string {
  if (slice.routes.length === 0) return none('No route has comparisons yet.')
  const rows = slice.routes.map((route) => [
    route.route,
    route.records,
    route.samples,
    withInterval(route.matchRate),
    route.families['genuine-conflict'],
    route.families['translation-defect'],
    route.families['source-data-defect'],
    route.families['not-compared'],
  ])
  const columns = [
    { label: 'Route' },
    ...['Records', 'Compared', 'Agreement (95 % CI)', 'Conflicts', 'Translation', 'Source data', 'Not compared'].map((label) => ({
      label,
      kind: 'num' as const,
    })),
  ]
  return htmlTable('routes', columns, rows)
}

function pathsTable(slice: SliceReport): string {
  if (slice.topPaths.length === 0) return none('No differing path.')
  const max = Math.max(...slice.topPaths.map((path) => path.count))
  const rows = slice.topPaths.map((path) => [
    path.path,
    raw(familyName(path.family)),
    path.count,
    raw(cellBar(path.count, max, `f-${path.family}`)),
    path.exampleRequestId,
  ])
  const more = slice.otherPaths > 0 ? `<p class="note">and ${slice.otherPaths} more differences on other paths.</p>` : ''
  return (
    htmlTable(
      'paths',
      [{ label: 'Path', kind: 'code' }, { label: 'Family' }, { label: 'Count', kind: 'num' }, { label: '' }, { label: 'Example request', kind: 'code' }],
      rows,
    ) + more
  )
}

function untranslatedTable(slice: SliceReport): string {
  if (slice.untranslated.length === 0) return none('None.')
  const rows = slice.untranslated.map((item) => [item.path, item.value, item.count, item.exampleRequestId])
  return htmlTable(
    'untranslated',
    [
      { label: 'Path', kind: 'code' },
      { label: 'Legacy value', kind: 'code' },
      { label: 'Count', kind: 'num' },
      { label: 'Example request', kind: 'code' },
    ],
    rows,
  )
}

function violationsTable(slice: SliceReport): string {
  if (slice.violations.length === 0) return none('None.')
  const rows = slice.violations.map((item) => [item.path, item.rule, item.count, item.exampleRequestId])
  return htmlTable(
    'violations',
    [{ label: 'Path', kind: 'code' }, { label: 'Rule broken' }, { label: 'Count', kind: 'num' }, { label: 'Example request', kind: 'code' }],
    rows,
  )
}

function noiseTable(slice: SliceReport): string {
  if (slice.noise.length === 0) return none('None.')
  return htmlTable(
    'noise',
    [
      { label: 'Path', kind: 'code' },
      { label: 'Comparisons forgiven', kind: 'num' },
    ],
    slice.noise.map((item) => [item.path, item.comparisons]),
  )
}

function rulesTable(slice: SliceReport): string {
  const status = (version: SliceReport['rulesVersions'][number]): string =>
    [version.current ? 'current' : 'earlier', version.rulesHash === slice.rulesHash ? 'shown here' : ''].filter(Boolean).join(', ')
  const rows = slice.rulesVersions.map((version) => [
    shortHash(version.rulesHash),
    version.translationVersion ?? '–',
    status(version),
    version.records,
    version.samples,
    withInterval(version.matchRate),
    version.families['genuine-conflict'],
    version.families['translation-defect'],
    when(version.firstSample),
    when(version.lastSample),
  ])
  if (rows.length === 0)
    return none(`Rules ${shortHash(slice.rulesHash)}${slice.translationVersion ? ` (translation ${slice.translationVersion})` : ''}: no comparisons yet.`)
  const columns = [
    { label: 'Rules', kind: 'code' as const },
    { label: 'Translation' },
    { label: 'Status' },
    ...['Records', 'Compared', 'Agreement (95 % CI)', 'Conflicts', 'Translation defects'].map((label) => ({ label, kind: 'num' as const })),
    { label: 'First sample' },
    { label: 'Last sample' },
  ]
  return htmlTable('rules-versions', columns, rows, (index) => (slice.rulesVersions[index]?.current ? ' class="current"' : ''))
}

function lagFigure(slice: SliceReport): string {
  if (slice.lag.count === 0) return ''
  const caption = `Timing lag — ${slice.lag.count} answer(s) modern caught up on; p50 ${ms(slice.lag.p50)}, p95 ${ms(slice.lag.p95)}, p99 ${ms(slice.lag.p99)}`
  return figure('lag', escapeHtml(caption), lagChart(slice))
}

function changesBlock(changes: readonly AuthorityChange[] | undefined): string {
  if (changes === undefined || changes.length === 0) return ''
  const rows = changes.map((change) => [when(change.at), `${change.previous} → ${change.authority}`, change.actor, change.reason])
  return block(
    'authority-changes',
    'Recent authority changes',
    htmlTable('changes', [{ label: 'When' }, { label: 'Change' }, { label: 'By' }, { label: 'Reason' }], rows),
  )
}

function charts(slice: SliceReport): string {
  const latencyCaption = `Latency to the answer’s headers — ${slice.latency.legacy.count} legacy and ${slice.latency.modern.count} modern call(s)`
  const agreement = figure('agreement', `Agreement over time${slice.timeline.length > 0 ? ` — ${escapeHtml(timelineNote(slice))}` : ''}`, agreementChart(slice))
  return `<div class="grid charts">${agreement}${figure('latency', escapeHtml(latencyCaption), latencyChart(slice))}</div>`
}

/**
 * One slice: its verdict, the figures that decide it, and the evidence behind them. `head` holds
 * the markup of its verdict badge and of its authority, built by the caller.
 */
export function sliceSection(
  slice: SliceReport,
  head: { readonly verdict: string; readonly authority: string },
  changes: readonly AuthorityChange[] | undefined,
): string {
  return `<section class="slice">
<header class="slice-head"><h2>${escapeHtml(slice.slice)}</h2>${head.verdict}${head.authority}</header>
${slice.description ? `<p class="description">${escapeHtml(slice.description)}</p>` : ''}
${slice.owner ? `<p class="owner">Decision owner: ${escapeHtml(slice.owner.team)} · ${escapeHtml(slice.owner.contact)}</p>` : ''}
${keyFigures(slice)}
${criteriaBlock(slice)}
${triageBlock(slice)}
${changesBlock(changes)}
${slice.records === 0 ? none('No comparisons of this slice in the report’s window: nothing to chart or list yet.') : evidenceBlocks(slice)}
</section>`
}

/** Charts and tables of a slice that has comparisons. */
function evidenceBlocks(slice: SliceReport): string {
  return `${charts(slice)}
${block('families-block', 'Outcomes by family, with their causes', familiesTable(slice))}
${block('hourly-block', 'Families by hour, newest first (these rules, the last 48 hours with evidence)', hourlyTable(slice))}
<div class="grid">${lagFigure(slice) || block('lag-block', 'Timing lag', none('No answer needed to be asked again.'))}${block('learned-noise', 'Paths put down to noise', noiseTable(slice))}</div>
${block('paths-block', 'Top differing paths', pathsTable(slice))}
${block('untranslated-values', 'Untranslated legacy values', untranslatedTable(slice))}
${block('legacy-defects', 'Legacy data breaking the new model', violationsTable(slice))}
${block('routes-block', 'Per route', routesTable(slice))}
${block('rules-block', 'Rules versions, side by side', rulesTable(slice))}`
}
