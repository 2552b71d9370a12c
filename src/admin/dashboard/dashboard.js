// The Ficus dashboard: plain DOM, no framework, no build. Every value from the API is put on the
// page with textContent (never innerHTML), so names and paths containing markup show as text.
// The admin token lives in sessionStorage and travels in the Authorization header only.

import { discrepancyBacklog } from './discrepancy-backlog.js'

const TOKEN_KEY = 'ficus-admin-token'
const REFRESH_MS = 4000
const SVG = 'http://www.w3.org/2000/svg'
// The families of src/compare/classify.ts, in its order.
const FAMILIES = ['match', 'noise', 'timing-lag', 'translation-defect', 'source-data-defect', 'genuine-conflict', 'not-compared', 'shadow-error', 'shadow-skipped', 'primary-error']
const NOISE_VERBS = { confirm: 'Confirm', reject: 'Reject', clear: 'Clear' }

const $ = (id) => document.getElementById(id)
let overview = null
let selected = null
let pendingFlip = null
let pendingNoise = null
let timer = null
// Its helpers are the function declarations below (hoisted).
const backlog = discrepancyBacklog({ api, element, when, fillTable })

function element(tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined && text !== null) node.textContent = String(text)
  if (className) node.className = className
  return node
}

function percent(value, digits = 1) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)} %`
}

function ms(value) {
  return value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`
}

/** `99.2 % (98.1–99.7)`: agreement and its 95 % confidence interval. */
function interval(rate) {
  return rate ? `${percent(rate.value)} (${(rate.lower * 100).toFixed(1)}–${(rate.upper * 100).toFixed(1)})` : '–'
}

/** `2026-11-20 10:30 UTC`. */
function when(iso) {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '–'
}

function shortHash(hash) {
  return hash.replace(/^sha256:/, '').slice(0, 12)
}

/** A slice whose customers already get modern's answers (all, or a percentage) while modern still disagrees. */
function conflictOnModern(slice) {
  if (!slice.report) return 0
  const conflicts = slice.report.families['genuine-conflict']
  return slice.modernPercent > 0 && conflicts > 0 ? conflicts : 0
}

function conflictWarning(slice, conflicts) {
  const share = slice.authority === 'modern' ? 'all of its traffic' : `${slice.modernPercent} % of its traffic`
  return `⚠ ${slice.id} sends ${share} to modern, and modern gave ${conflicts} genuine conflict(s) in the report: customers may be getting wrong answers. Investigate, or flip back to legacy.`
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY)
  const headers = { accept: 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' })
  const data = await response.json().catch(() => ({}))
  if (response.status === 401) {
    signOut('The token was refused. Enter the admin token again.')
    throw new Error('unauthorized')
  }
  if (!response.ok) {
    const error = new Error(data.message || `HTTP ${response.status}`)
    error.code = data.code
    error.verdict = data.verdict
    throw error
  }
  return data
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY)
  clearInterval(timer)
  $('slices').hidden = true
  $('detail').hidden = true
  $('backlog').hidden = true
  backlog.reset()
  $('kill-switch').hidden = true
  $('sign-out').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message || ''
  $('summary').textContent = 'Signed out'
  $('token').focus()
}

function sparkline(timeline) {
  const points = timeline.filter((bucket) => bucket.matchRate !== null)
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('class', 'sparkline')
  svg.setAttribute('width', '90')
  svg.setAttribute('height', '22')
  svg.setAttribute('aria-hidden', 'true')
  if (points.length > 0) {
    const path = document.createElementNS(SVG, 'path')
    const x = (i) => (points.length === 1 ? 45 : 2 + (i * 86) / (points.length - 1))
    const y = (bucket) => (20 - bucket.matchRate * 18).toFixed(1)
    // One bucket (a short run) is drawn across the whole sparkline.
    const d = points.length === 1 ? `M2,${y(points[0])} L88,${y(points[0])}` : points.map((bucket, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(bucket)}`).join(' ')
    path.setAttribute('d', d)
    svg.append(path)
  }
  return svg
}

function chart(timeline) {
  const points = timeline.filter((bucket) => bucket.matchRate !== null)
  if (points.length === 0) return element('p', 'No compared samples yet.', 'muted')
  const width = 480
  const height = 160
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('class', 'chart')
  svg.setAttribute('role', 'img')
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  const title = document.createElementNS(SVG, 'title')
  title.textContent = `Agreement per ${Math.round(points[0].widthMs / 60000)}-minute bucket: ${points.map((bucket) => `${bucket.start} ${percent(bucket.matchRate)}`).join(', ')}`
  svg.append(title)
  const x = (i) => (points.length === 1 ? width / 2 : 40 + (i * (width - 60)) / (points.length - 1))
  const y = (rate) => height - 25 - rate * (height - 45)
  for (const rate of [0, 1]) {
    const line = document.createElementNS(SVG, 'line')
    line.setAttribute('x1', '40')
    line.setAttribute('x2', String(width - 20))
    line.setAttribute('y1', String(y(rate)))
    line.setAttribute('y2', String(y(rate)))
    svg.append(line)
    const label = document.createElementNS(SVG, 'text')
    label.setAttribute('x', '2')
    label.setAttribute('y', String(y(rate) + 4))
    label.textContent = `${rate * 100} %`
    svg.append(label)
  }
  // The first and last buckets' times (UTC) under the axis.
  for (const [bucket, at, anchor] of [[points[0], 40, 'start'], [points[points.length - 1], width - 20, 'end']]) {
    const label = document.createElementNS(SVG, 'text')
    label.setAttribute('x', String(at))
    label.setAttribute('y', String(height - 6))
    label.setAttribute('text-anchor', anchor)
    label.textContent = `${bucket.start.slice(11, 16)} UTC`
    svg.append(label)
  }
  const path = document.createElementNS(SVG, 'path')
  const line = points.length === 1 ? `M40,${y(points[0].matchRate).toFixed(1)} L${width - 20},${y(points[0].matchRate).toFixed(1)}` : points.map((bucket, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(bucket.matchRate).toFixed(1)}`).join(' ')
  path.setAttribute('d', line)
  svg.append(path)
  return svg
}

function readinessCell(report) {
  const cell = element('td')
  const details = element('details')
  const summary = element('summary', report.readiness.ready ? '✔ Ready' : '✘ Not ready', report.readiness.ready ? 'ready' : 'unready')
  details.append(summary)
  const list = element('ul')
  for (const criterion of report.readiness.criteria) list.append(element('li', `${criterion.id}: ${criterion.detail}`, criterion.met ? 'criterion-met' : 'criterion-unmet'))
  details.append(list)
  cell.append(details)
  return cell
}

/** `all closed`, or the sides whose client or shadow breaker is not closed. */
function breakerText(breakers) {
  const sides = ['legacy', 'modern'].filter((side) => breakers[side].primary !== 'closed' || breakers[side].shadow !== 'closed')
  return sides.length === 0 ? 'all closed' : sides.map((side) => `${side}: ${breakers[side].primary}/${breakers[side].shadow}`).join(', ')
}

function numberCell(value, alert) {
  return element('td', value, `num${alert ? ' alert' : ''}`)
}

/** The cells of a slice whose readiness evidence cannot be read now: one that says so, across the report's columns. */
function unavailableCells(slice, row) {
  const cell = element('td', `Evidence unavailable: ${slice.evidenceError ?? 'the readiness evidence cannot be read now'}`, 'unavailable')
  cell.colSpan = 10
  row.append(cell)
  row.append(element('td', breakerText(slice.breakers)))
  return row
}

function sliceRow(slice) {
  const report = slice.report
  const row = element('tr', null, 'slice')
  row.dataset.slice = slice.id
  const name = element('th')
  name.scope = 'row'
  const open = element('button', slice.id, 'link')
  open.type = 'button'
  open.addEventListener('click', () => showDetail(slice.id))
  name.append(open, element('div', slice.description, 'muted'))
  if (slice.owner) name.append(element('div', `owner: ${slice.owner.team}`, 'muted owner'))
  row.append(name)
  row.append(element('td', slice.authority === 'legacy' || slice.authority === 'modern' ? slice.authority : `${slice.authority} modern`, 'authority'))
  row.append(element('td', slice.version, 'version'))
  if (!report) return unavailableCells(slice, row)
  const families = report.families
  row.append(readinessCell(report))
  const agreement = element('td', null, 'agreement')
  agreement.append(element('span', interval(report.matchRate)), ' ', sparkline(report.timeline))
  row.append(agreement)
  row.append(numberCell(report.samples))
  row.append(numberCell(families['genuine-conflict'], families['genuine-conflict'] > 0))
  row.append(numberCell(families['translation-defect'], families['translation-defect'] > 0))
  row.append(numberCell(families['source-data-defect']))
  row.append(numberCell(families['not-compared']))
  row.append(numberCell(report.lag.count === 0 ? '–' : ms(report.lag.p95)))
  // Accepted differences are set apart from the samples, but their shadow calls were made.
  const shadowCalls = report.samples + (report.accepted ?? 0) + families['not-compared'] + families['shadow-error']
  row.append(numberCell(shadowCalls === 0 ? '–' : percent(families['shadow-error'] / shadowCalls)))
  row.append(element('td', `${ms(report.latency.legacy.p95)} / ${ms(report.latency.modern.p95)}`))
  row.append(element('td', breakerText(slice.breakers)))
  return row
}

/** The banner row under a slice on modern whose report has genuine conflicts. */
function warningRow(slice, conflicts, columns) {
  const row = element('tr', null, 'conflict-warning')
  row.dataset.warningFor = slice.id
  const cell = element('td', conflictWarning(slice, conflicts))
  cell.colSpan = columns
  cell.setAttribute('role', 'alert')
  row.append(cell)
  return row
}

function renderSlices() {
  const rows = $('slice-rows')
  rows.replaceChildren()
  const columns = document.querySelectorAll('#slices thead th').length
  for (const slice of overview.slices) {
    rows.append(sliceRow(slice))
    const conflicts = conflictOnModern(slice)
    if (conflicts > 0) rows.append(warningRow(slice, conflicts, columns))
  }
  const store = overview.store
  const sink = overview.sink
  $('summary').textContent = `${overview.slices.length} slices · config ${overview.config} · ${store.kind} store ${store.connected ? 'connected' : 'NOT CONNECTED'} · ${sink.kind} events ${sink.state}${sink.outboxBytes > 0 ? ` (outbox ${sink.outboxBytes} bytes)` : ''}`
  $('updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`
}

/** Fills a table's body with text; a column whose header has class `num` is right-aligned. */
/** The last day of the slice's families by hour, newest first: drift after a flip shows here first. */
function hourlyRows(report) {
  return (report.hourly ?? [])
    .slice(-24)
    .reverse()
    .map((hour) => [
      hour.start.slice(0, 13).replace('T', ' ') + 'h',
      hour.matchRate === null ? '–' : percent(hour.matchRate),
      hour.families['genuine-conflict'],
      hour.families['translation-defect'],
      hour.families['source-data-defect'],
      hour.families['not-compared'],
      hour.families['shadow-error'],
    ])
}

function fillTable(id, rows) {
  const body = $(id).querySelector('tbody')
  const numeric = [...$(id).querySelectorAll('thead th')].map((th) => th.classList.contains('num'))
  body.replaceChildren()
  if (rows.length === 0) {
    const row = element('tr')
    const cell = element('td', 'None.', 'muted')
    cell.colSpan = numeric.length
    row.append(cell)
    body.append(row)
    return
  }
  for (const values of rows) {
    const row = element('tr')
    values.forEach((value, index) => row.append(element('td', value, numeric[index] ? 'num' : undefined)))
    body.append(row)
  }
}

function causesText(causes) {
  return Object.entries(causes || {})
    .map(([cause, count]) => `${cause} ×${count}`)
    .join(', ')
}

/** The readiness verdict: the evidence it was judged on (rules version and window) once, then every criterion. */
function renderCriteria(report) {
  const evidence = report.readiness.evidence
  const version = report.rulesVersions.find((candidate) => candidate.rulesHash === evidence.rulesHash)
  const translation = version && version.translationVersion ? ` (translation ${version.translationVersion})` : ''
  $('detail-evidence').textContent = `${report.readiness.ready ? '✔ Ready' : '✘ Not ready'} — judged on rules ${shortHash(evidence.rulesHash)}${translation} over the last ${evidence.windowDays} days, ${when(evidence.from)} → ${when(evidence.to)}.`
  const list = $('detail-criteria')
  list.replaceChildren()
  for (const criterion of report.readiness.criteria) list.append(element('li', `${criterion.id}: ${criterion.detail}`, criterion.met ? 'criterion-met' : 'criterion-unmet'))
}

function renderLag(report) {
  const lag = report.lag
  $('detail-lag-summary').textContent = lag.count === 0 ? 'No answer needed asking again.' : `${lag.count} answer(s) modern caught up on: p50 ${ms(lag.p50)}, p95 ${ms(lag.p95)}, p99 ${ms(lag.p99)}.`
  let below = null
  const rows = lag.buckets.map((bucket) => {
    const label = below === null ? `≤ ${bucket.upToMs} ms` : `${below}–${bucket.upToMs} ms`
    below = bucket.upToMs
    return [label, bucket.count]
  })
  fillTable('detail-lag', rows)
}

function rulesRows(report) {
  return report.rulesVersions.map((version) => [
    `${shortHash(version.rulesHash)}${version.translationVersion ? ` (${version.translationVersion})` : ''}`,
    `${version.current ? 'current' : 'earlier'}${version.rulesHash === report.rulesHash ? ', shown' : ''}`,
    version.samples,
    interval(version.matchRate),
    version.families['genuine-conflict'],
    when(version.lastSample),
  ])
}

async function renderDetail() {
  const slice = overview.slices.find((candidate) => candidate.id === selected)
  if (!slice) return
  const report = slice.report
  $('detail-title').textContent = `${slice.id} — ${slice.authority} (version ${slice.version})`
  $('detail-description').textContent = slice.description
  $('detail-owner').textContent = slice.owner ? `Decision owner: ${slice.owner.team} · ${slice.owner.contact}` : 'No decision owner named in the config'
  const conflicts = conflictOnModern(slice)
  $('detail-warning').hidden = conflicts === 0
  $('detail-warning').textContent = conflicts === 0 ? '' : conflictWarning(slice, conflicts)
  if (report) {
    renderCriteria(report)
    $('detail-chart').replaceChildren(chart(report.timeline))
    fillTable('detail-families', FAMILIES.map((family) => [family, report.families[family], causesText(report.causes[family])]))
    fillTable('detail-hourly', hourlyRows(report))
    renderLag(report)
    fillTable('detail-paths', report.topPaths.map((path) => [path.path, path.family, path.count, path.exampleRequestId]))
    fillTable('detail-untranslated', report.untranslated.map((item) => [item.path, item.value, item.count]))
    fillTable('detail-violations', report.violations.map((item) => [item.path, item.rule, item.count, item.exampleRequestId]))
    fillTable('detail-rules', rulesRows(report))
  } else {
    $('detail-evidence').textContent = `Evidence unavailable: ${slice.evidenceError ?? 'the readiness evidence cannot be read now'}. Flips to legacy, the kill switch and forced flips still work.`
    $('detail-criteria').replaceChildren()
    $('detail-chart').replaceChildren()
    for (const table of ['detail-families', 'detail-paths', 'detail-untranslated', 'detail-violations', 'detail-rules']) fillTable(table, [])
  }
  // The audit trail and the noise list each show what they can; one unreadable never blanks the other.
  const [history, noise] = await Promise.allSettled([api('GET', `/admin/history?slice=${encodeURIComponent(slice.id)}&limit=10`), api('GET', `/admin/slices/${encodeURIComponent(slice.id)}/noise`)])
  if (history.status === 'fulfilled') fillTable('detail-history', history.value.entries.map((entry) => [entry.at, `${entry.previous} → ${entry.authority}${entry.forced ? ' (forced)' : ''}`, entry.version, entry.actor, entry.reason]))
  else fillTable('detail-history', [[`unavailable: ${history.reason?.message ?? 'the audit trail cannot be read now'}`, '', '', '', '']])
  if (noise.status === 'fulfilled') renderNoise(noise.value)
}

function noiseActions(path) {
  const cell = element('td', null, 'actions')
  for (const [decision, verb] of Object.entries(NOISE_VERBS)) {
    const button = element('button', verb)
    button.type = 'button'
    button.setAttribute('aria-label', `${verb} ${path.path} on ${path.route}`)
    if (decision === 'clear' && !path.decision) button.disabled = true
    button.addEventListener('click', () => askNoiseDecision(path, decision))
    cell.append(button)
  }
  return cell
}

/** The learned-noise list of the slice (GET /admin/slices/:id/noise), a decision button per path. */
function renderNoise(noise) {
  const body = $('detail-noise').querySelector('tbody')
  body.replaceChildren()
  if (noise.paths.length === 0) {
    const cell = element('td', noise.shadowed ? 'No path under watch yet.' : 'This slice is not shadowed.', 'muted')
    cell.colSpan = 7
    const row = element('tr')
    row.append(cell)
    body.append(row)
    return
  }
  for (const path of noise.paths) {
    const row = element('tr', null, `noise-${path.state}`)
    row.dataset.path = path.path
    const ratio = path.ratio === null ? '' : `, ${percent(path.ratio, 0)}`
    const decision = path.decision ? `${path.decision.decision} by ${path.decision.actor}: ${path.decision.reason}` : '–'
    for (const value of [path.route, path.path, path.state, `${path.selfDifferences} of ${path.doubleAsks} double-asks${ratio}`, path.expiresAt ? when(new Date(path.expiresAt).toISOString()) : '–', decision]) row.append(element('td', value))
    row.append(noiseActions(path))
    body.append(row)
  }
}

function askNoiseDecision(path, decision) {
  pendingNoise = { route: path.route, path: path.path, decision }
  $('noise-question').textContent = `${NOISE_VERBS[decision]} ${path.path} on ${path.route} (${selected})? ${decision === 'confirm' ? 'It stays noise until cleared.' : decision === 'reject' ? 'Its differences count against agreement again.' : 'The learned evidence decides again.'}`
  $('noise-reason').value = ''
  $('noise-dialog').showModal()
}

async function refreshSlices() {
  try {
    overview = await api('GET', '/admin/overview')
    renderSlices()
    if (selected && !$('detail').hidden) await renderDetail()
  } catch (err) {
    if (err.message !== 'unauthorized') $('notice').textContent = `Could not refresh: ${err.message}`
  }
}

// The slices and the discrepancy backlog each show what they can: one unreadable never blanks the other.
async function refresh() {
  await Promise.all([refreshSlices(), backlog.refresh()])
}

async function showDetail(id) {
  selected = id
  $('detail').hidden = false
  $('flip-result').textContent = ''
  $('noise-result').textContent = ''
  $('flip-confirm').hidden = true
  document.querySelector('#flip-form .force').hidden = true
  $('flip-force').checked = false
  await renderDetail()
  $('detail').focus()
}

function flipTarget() {
  const target = document.querySelector('input[name="target"]:checked').value
  return target === 'percent' ? `${Number($('flip-percent').value)}%` : target
}

function showVerdict(verdict) {
  const result = $('flip-result')
  result.replaceChildren(element('p', 'Refused by the readiness guard: the slice is not ready.', 'error'))
  const list = element('ul')
  for (const criterion of verdict.criteria.filter((item) => !item.met)) list.append(element('li', `${criterion.id}: ${criterion.detail}`, 'criterion-unmet'))
  result.append(list, element('p', 'Tick “Force” and confirm again to flip anyway; the audit trail will record it as forced.'))
  document.querySelector('#flip-form .force').hidden = false
}

async function start() {
  $('login').hidden = true
  $('slices').hidden = false
  $('backlog').hidden = false
  $('kill-switch').hidden = false
  $('sign-out').hidden = false
  await refresh()
  clearInterval(timer)
  timer = setInterval(refresh, REFRESH_MS)
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  sessionStorage.setItem(TOKEN_KEY, $('token').value)
  $('token').value = ''
  try {
    await api('GET', '/admin/overview')
    $('login-error').textContent = ''
    await start()
  } catch {
    // signOut already said why
  }
})

$('sign-out').addEventListener('click', () => signOut(''))
$('close-detail').addEventListener('click', () => {
  $('detail').hidden = true
  selected = null
  document.querySelector(`tr[data-slice] button`)?.focus()
})

$('flip-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const reason = $('flip-reason').value.trim()
  if (reason === '') return
  pendingFlip = { authority: flipTarget(), reason, force: $('flip-force').checked }
  $('flip-confirm-text').textContent = `Flip ${selected} to ${pendingFlip.authority}${pendingFlip.force ? ', forced past the readiness verdict' : ''}? Reason: “${reason}”`
  $('flip-confirm').hidden = false
  $('flip-do').focus()
})

$('flip-cancel').addEventListener('click', () => {
  pendingFlip = null
  $('flip-confirm').hidden = true
})

$('flip-do').addEventListener('click', async () => {
  if (!pendingFlip) return
  const body = { authority: pendingFlip.authority, reason: pendingFlip.reason, ...(pendingFlip.force ? { force: true } : {}) }
  $('flip-confirm').hidden = true
  try {
    const slice = await api('PUT', `/admin/slices/${encodeURIComponent(selected)}/authority`, body)
    $('flip-result').replaceChildren(element('p', `${slice.id} is now ${slice.authority} (version ${slice.version}).`))
    $('flip-reason').value = ''
    $('flip-force').checked = false
    document.querySelector('#flip-form .force').hidden = true
    await refresh()
  } catch (err) {
    if (err.code === 'FICUS_ERR_NOT_READY' && err.verdict) showVerdict(err.verdict)
    else $('flip-result').replaceChildren(element('p', err.message, 'error'))
  }
  pendingFlip = null
})

$('noise-cancel').addEventListener('click', () => {
  pendingNoise = null
  $('noise-dialog').close()
})
$('noise-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const reason = $('noise-reason').value.trim()
  if (reason === '' || !pendingNoise) return
  const body = { ...pendingNoise, reason }
  pendingNoise = null
  $('noise-dialog').close()
  try {
    const result = await api('POST', `/admin/slices/${encodeURIComponent(selected)}/noise`, body)
    $('noise-result').replaceChildren(element('p', `${NOISE_VERBS[body.decision]}: ${result.decision.path} on ${result.decision.route}, recorded by ${result.decision.actor}.`))
    await refresh()
  } catch (err) {
    $('noise-result').replaceChildren(element('p', `Noise decision refused: ${err.message}`, 'error'))
  }
})

$('kill-switch').addEventListener('click', () => $('kill-dialog').showModal())
$('kill-cancel').addEventListener('click', () => $('kill-dialog').close())
$('kill-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const reason = $('kill-reason').value.trim()
  if (reason === '') return
  try {
    const result = await api('POST', '/admin/kill-switch', { reason })
    $('notice').textContent = `Kill switch: ${result.changed.length} slice(s) returned to legacy.`
    $('kill-reason').value = ''
    $('kill-dialog').close()
    await refresh()
  } catch (err) {
    $('kill-dialog').close()
    $('notice').textContent = `Kill switch failed: ${err.message}`
  }
})

// Try without asking: with a stored token, or on an admin port that needs none (loopback only).
void start()
