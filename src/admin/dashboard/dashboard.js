// The Ficus dashboard: plain DOM, no framework, no build. Every value from the API is put on the
// page with textContent (never innerHTML), so names and paths containing markup show as text.
// The admin token lives in sessionStorage and travels in the Authorization header only.

const TOKEN_KEY = 'ficus-admin-token'
const REFRESH_MS = 4000
const SVG = 'http://www.w3.org/2000/svg'
const CATEGORIES = ['match', 'noise', 'timing-lag', 'status-mismatch', 'body-mismatch', 'untranslated', 'shadow-error', 'shadow-skipped', 'primary-error']

const $ = (id) => document.getElementById(id)
let overview = null
let selected = null
let pendingFlip = null
let timer = null

function element(tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined && text !== null) node.textContent = String(text)
  if (className) node.className = className
  return node
}

function percent(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`
}

function ms(value) {
  return value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`
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
    path.setAttribute('d', points.map((bucket, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${(20 - bucket.matchRate * 18).toFixed(1)}`).join(' '))
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
  title.textContent = `Agreement per hour: ${points.map((bucket) => `${bucket.start} ${percent(bucket.matchRate)}`).join(', ')}`
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
  const path = document.createElementNS(SVG, 'path')
  path.setAttribute('d', points.map((bucket, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(bucket.matchRate).toFixed(1)}`).join(' '))
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

function breakerText(breakers) {
  return ['legacy', 'modern'].map((side) => `${side}: ${breakers[side].primary}/${breakers[side].shadow}`).join(', ')
}

function renderSlices() {
  const rows = $('slice-rows')
  rows.replaceChildren()
  for (const slice of overview.slices) {
    const report = slice.report
    const row = element('tr', null, 'slice')
    row.dataset.slice = slice.id
    const name = element('th')
    name.scope = 'row'
    const open = element('button', slice.id, 'link')
    open.type = 'button'
    open.addEventListener('click', () => showDetail(slice.id))
    name.append(open, element('div', slice.description, 'muted'))
    row.append(name)
    row.append(element('td', slice.authority === 'legacy' || slice.authority === 'modern' ? slice.authority : `${slice.authority} modern`, 'authority'))
    row.append(element('td', slice.version, 'version'))
    row.append(readinessCell(report))
    const agreement = element('td')
    agreement.append(element('span', percent(report.matchRate ? report.matchRate.value : null)), ' ', sparkline(report.timeline))
    row.append(agreement)
    row.append(element('td', report.samples))
    const shadowCalls = report.samples + report.categories['shadow-error']
    row.append(element('td', shadowCalls === 0 ? '–' : percent(report.categories['shadow-error'] / shadowCalls)))
    row.append(element('td', `${ms(report.latency.legacy.p95)} / ${ms(report.latency.modern.p95)}`))
    row.append(element('td', breakerText(slice.breakers)))
    rows.append(row)
  }
  const store = overview.store
  const sink = overview.sink
  $('summary').textContent = `${overview.slices.length} slices · config ${overview.config} · ${store.kind} store ${store.connected ? 'connected' : 'NOT CONNECTED'} · ${sink.kind} events ${sink.state}${sink.outboxBytes > 0 ? ` (outbox ${sink.outboxBytes} bytes)` : ''}`
  $('updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`
}

function fillTable(id, rows) {
  const body = $(id).querySelector('tbody')
  body.replaceChildren()
  if (rows.length === 0) {
    const row = element('tr')
    const cell = element('td', 'None.', 'muted')
    cell.colSpan = $(id).querySelectorAll('th').length
    row.append(cell)
    body.append(row)
    return
  }
  for (const values of rows) {
    const row = element('tr')
    for (const value of values) row.append(element('td', value))
    body.append(row)
  }
}

async function renderDetail() {
  const slice = overview.slices.find((candidate) => candidate.id === selected)
  if (!slice) return
  const report = slice.report
  $('detail-title').textContent = `${slice.id} — ${slice.authority} (version ${slice.version})`
  $('detail-description').textContent = slice.description
  $('detail-chart').replaceChildren(chart(report.timeline))
  fillTable('detail-categories', CATEGORIES.map((category) => [category, report.categories[category]]))
  fillTable('detail-paths', report.topPaths.map((path) => [path.path, path.count, path.exampleRequestId]))
  fillTable('detail-untranslated', report.untranslated.map((item) => [item.path, item.value, item.count]))
  const history = await api('GET', `/admin/history?slice=${encodeURIComponent(slice.id)}&limit=10`)
  fillTable('detail-history', history.entries.map((entry) => [entry.at, `${entry.previous} → ${entry.authority}${entry.forced ? ' (forced)' : ''}`, entry.version, entry.actor, entry.reason]))
}

async function refresh() {
  try {
    overview = await api('GET', '/admin/overview')
    renderSlices()
    if (selected && !$('detail').hidden) await renderDetail()
  } catch (err) {
    if (err.message !== 'unauthorized') $('notice').textContent = `Could not refresh: ${err.message}`
  }
}

async function showDetail(id) {
  selected = id
  $('detail').hidden = false
  $('flip-result').textContent = ''
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
