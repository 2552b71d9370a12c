// The discrepancy backlog panel: the register's signatures per slice and family by triage state
// (GET /admin/discrepancies/backlog), the signatures of one slice (GET /admin/discrepancies) and the
// triage history of one of them (GET /admin/discrepancies/:id/history). Read-only: a team triages
// with `ficus triage` or the admin API. Routes, paths and values come from traffic: every one is
// put on the page with textContent. Each of the three parts shows its own error and leaves the
// rest of the page alone (the register on Redis may be away while the slices are not).

/** Signatures listed for a slice: the newest, as the register lists them. */
const SIGNATURE_LIMIT = 200
const HISTORY_LIMIT = 50
/** The backlog's counted columns, in the table's order. */
const COUNTS = ['signatures', 'open', 'investigating', 'accepted', 'expired', 'fixExpected', 'regressions', 'modernDefects', 'legacyDataDefects', 'wontFix']
const HIGHLIGHTED = new Set(['regressions', 'expired'])

const $ = (id) => document.getElementById(id)

/** `3 d 4 h`, `2 h 5 min`, `7 min`, `12 s`: how long an item has waited. */
export function age(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–'
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 1) return `${Math.floor(ms / 1000)} s`
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  if (days > 0) return `${days} d ${hours} h`
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`
}

function shortRules(hash) {
  return hash ? hash.replace(/^sha256:/, '').slice(0, 12) : '–'
}

/** The panel, drawn with the dashboard's own helpers: `api(method, path)`, `element(tag, text, className)`, `when(iso)`, `fillTable(id, rows)`. */
export function discrepancyBacklog({ api, element, when, fillTable }) {
  let slice = null
  let signature = null

  /** Shows `err` in the paragraph `id` (or clears it); a lapsed token is the sign-in form's to say. */
  function showError(id, what, err) {
    const message = err ? `${what} unavailable: ${err.message}` : ''
    if (err && err.message === 'unauthorized') return
    if ($(id).textContent !== message) $(id).textContent = message
    $(id).hidden = message === ''
  }

  function emptyRow(body, columns, text) {
    const row = element('tr')
    const cell = element('td', text, 'muted')
    cell.colSpan = columns
    row.append(cell)
    body.append(row)
  }

  function countCell(row, key) {
    const cell = element('td', row[key], `num${HIGHLIGHTED.has(key) && row[key] > 0 ? ' alert' : ''}`)
    cell.dataset.count = key
    return cell
  }

  function oldestCell(oldest) {
    const cell = element('td', oldest ? age(oldest.ageMs) : '–', 'num oldest')
    if (oldest) cell.title = `first seen ${when(oldest.firstSeen)} (signature ${oldest.id})`
    return cell
  }

  /** One row of the backlog; the first of a slice carries its name (a button to its signatures) and owner across its families. */
  function backlogRow(row, span) {
    const tr = element('tr', null, row.regressions > 0 ? 'regression' : undefined)
    tr.dataset.backlogSlice = row.slice
    tr.dataset.backlogFamily = row.family
    if (span > 0) {
      const name = element('th', null, 'group')
      name.scope = 'rowgroup'
      name.rowSpan = span
      const open = element('button', row.slice, 'link')
      open.type = 'button'
      open.setAttribute('aria-label', `Signatures of ${row.slice}`)
      open.addEventListener('click', () => void selectSlice(row.slice))
      name.append(open)
      const owner = element('td', row.owner ?? '–', 'group owner')
      owner.rowSpan = span
      tr.append(name, owner)
    }
    tr.append(element('td', row.family, 'family'))
    for (const key of COUNTS) tr.append(countCell(row, key))
    tr.append(oldestCell(row.oldestOpen))
    return tr
  }

  function renderBacklog(backlog) {
    const body = $('backlog-rows')
    body.replaceChildren()
    if (backlog.rows.length === 0) emptyRow(body, $('backlog-table').querySelectorAll('thead th').length, 'No discrepancy recorded.')
    backlog.rows.forEach((row, index) => {
      const first = index === 0 || backlog.rows[index - 1].slice !== row.slice
      body.append(backlogRow(row, first ? backlog.rows.filter((other) => other.slice === row.slice).length : 0))
    })
    const register = backlog.register
    $('backlog-register').textContent = `${register.signatures} signature(s) in the register · ${register.recorded} differing comparison(s) recorded since start · ${register.evicted} evicted to keep it bounded.`
  }

  /** Where a signature stands, with what reopened it. */
  function stateText(triage) {
    if (triage.regression) return `open — regression: recurred under new rules after a fix was expected under ${shortRules(triage.rulesHash)}`
    if (triage.expired) return `open — acceptance expired ${when(triage.expiresAt)}`
    if (triage.state === 'accepted') return `accepted until ${when(triage.expiresAt)}`
    if (triage.state === 'fix-expected') return `fix expected (after rules ${shortRules(triage.rulesHash)})`
    return triage.ticket ? `${triage.state} (${triage.ticket})` : triage.state
  }

  function signatureRow(entry) {
    const tr = element('tr', null, entry.triage.regression ? 'regression' : undefined)
    tr.dataset.signature = entry.id
    const name = element('th')
    name.scope = 'row'
    const open = element('button', entry.id, 'link')
    open.type = 'button'
    open.setAttribute('aria-label', `Triage history of ${entry.id}`)
    open.addEventListener('click', () => void selectSignature(entry.id))
    name.append(open)
    tr.append(name)
    const paths = `${entry.paths.join(', ')}${entry.value === null ? '' : ` = ${entry.value}`}`
    for (const [value, className] of [
      [entry.family, 'family'],
      [entry.route, 'route'],
      [paths, 'paths'],
      [stateText(entry.triage), 'state'],
      [entry.count, 'num'],
      [entry.entities, 'num'],
      [when(entry.firstSeen)],
      [when(entry.lastSeen)],
      [`${entry.owner ?? '–'} / ${entry.triage.assignee ?? '–'}`],
    ])
      tr.append(element('td', value, className))
    return tr
  }

  function renderSignatures(list) {
    const body = $('signature-rows')
    body.replaceChildren()
    if (list.entries.length === 0) emptyRow(body, $('signature-table').querySelectorAll('thead th').length, 'No signature of this slice in the register.')
    for (const entry of list.entries) body.append(signatureRow(entry))
  }

  function historyDetails(record) {
    if (record.assignee) return `assignee ${record.assignee}`
    if (record.approver) return `approved by ${record.approver}, until ${when(record.expiresAt)}`
    if (record.ticket) return `ticket ${record.ticket}`
    if (record.rulesHash) return `fixed after rules ${shortRules(record.rulesHash)}`
    return ''
  }

  async function refreshBacklog() {
    try {
      renderBacklog(await api('GET', '/admin/discrepancies/backlog'))
      showError('backlog-error')
    } catch (err) {
      $('backlog-rows').replaceChildren()
      $('backlog-register').textContent = ''
      showError('backlog-error', 'The discrepancy backlog is', err)
    }
  }

  async function refreshSignatures() {
    if (slice === null) return
    try {
      renderSignatures(await api('GET', `/admin/discrepancies?slice=${encodeURIComponent(slice)}&limit=${SIGNATURE_LIMIT}`))
      showError('signatures-error')
    } catch (err) {
      $('signature-rows').replaceChildren()
      showError('signatures-error', 'The signatures are', err)
    }
  }

  async function refreshHistory() {
    if (signature === null) return
    try {
      const history = await api('GET', `/admin/discrepancies/${encodeURIComponent(signature)}/history?limit=${HISTORY_LIMIT}`)
      fillTable('signature-history', history.entries.map((record) => [when(record.at), record.action, record.actor, record.reason, historyDetails(record)]))
      showError('history-error')
    } catch (err) {
      $('signature-history').querySelector('tbody').replaceChildren()
      showError('history-error', 'The triage history is', err)
    }
  }

  async function selectSlice(id) {
    slice = id
    signature = null
    $('signatures').hidden = false
    $('signature-detail').hidden = true
    $('signatures-title').textContent = `Signatures of ${id}`
    await refreshSignatures()
    $('signatures').focus()
  }

  async function selectSignature(id) {
    signature = id
    $('signature-detail').hidden = false
    $('signature-detail-title').textContent = `Triage history of ${id}`
    await refreshHistory()
  }

  return {
    /** Redraws every part shown; never rejects. */
    refresh: () => Promise.allSettled([refreshBacklog(), refreshSignatures(), refreshHistory()]),
    /** Forgets the selection (at sign-out). */
    reset() {
      slice = null
      signature = null
      $('signatures').hidden = true
      $('signature-detail').hidden = true
    },
  }
}
