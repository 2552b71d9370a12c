import { duration, escapeHtml, ms } from './html-text.ts'
import type { SliceReport } from './report.ts'

// Inline SVG charts of the HTML report: no script, every value written on the chart as text.

const WIDTH = 560
type Bucket = SliceReport['timeline'][number]
type Point = { readonly start: number; readonly end: number; readonly rate: number; readonly bucket: Bucket }

function svg(chart: string, label: string, height: number, body: string): string {
  return `<svg data-chart="${chart}" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}"><title>${escapeHtml(label)}</title>${body}</svg>`
}

const text = (x: number, y: number, content: string, attributes = ''): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attributes}>${escapeHtml(content)}</text>`

// ─── Agreement over time ────────────────────────────────────────────────────────────────────────

const AGREEMENT = { height: 240, left: 52, right: 24, top: 30, bottom: 28 } as const
const PLOT_WIDTH = WIDTH - AGREEMENT.left - AGREEMENT.right
const PLOT_HEIGHT = AGREEMENT.height - AGREEMENT.top - AGREEMENT.bottom
const MINUTE = 60_000
const DAY = 86_400_000
const TICK_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1_440, 2_880, 10_080].map((minutes) => minutes * MINUTE)
const MAX_TICKS = 6

function pointsOf(timeline: SliceReport['timeline']): Point[] {
  return timeline.flatMap((bucket) => {
    if (bucket.matchRate === null) return []
    const start = Date.parse(bucket.start)
    return [{ start, end: start + bucket.widthMs, rate: bucket.matchRate, bucket }]
  })
}

/** The lowest agreement shown: a round tenth below the data and the readiness floor, at most 90 %. */
function floorOf(points: readonly Point[], target: number): number {
  const lowest = Math.min(target, ...points.map((point) => point.rate))
  return Math.min(0.9, Math.floor(lowest * 10) / 10)
}

/** Round times (every 5 min, 1 h, 1 day…) across the span, at most MAX_TICKS of them. */
function timeTicks(from: number, to: number): { times: number[]; label: (time: number) => string } {
  const step = TICK_STEPS_MS.find((candidate) => (to - from) / candidate <= MAX_TICKS) ?? DAY * 30
  const times: number[] = []
  for (let time = Math.ceil(from / step) * step; time <= to; time += step) times.push(time)
  const iso = (time: number): string => new Date(time).toISOString()
  const label =
    step >= DAY
      ? (time: number) => iso(time).slice(5, 10)
      : to - from > DAY
        ? (time: number) => `${iso(time).slice(5, 10)} ${iso(time).slice(11, 16)}`
        : (time: number) => iso(time).slice(11, 16)
  return { times, label }
}

/** The line through the buckets' middles; a gap in the buckets starts a new stretch, a lone bucket is drawn across its width. */
function linePath(points: readonly Point[], x: (time: number) => number, y: (rate: number) => number): string {
  const stretches: Point[][] = []
  for (const point of points) {
    const last = stretches.at(-1)
    if (last && point.start - (last.at(-1)?.end ?? 0) <= 0) last.push(point)
    else stretches.push([point])
  }
  return stretches
    .map((stretch) => {
      const first = stretch[0]
      if (stretch.length === 1 && first)
        return `M${x(first.start).toFixed(1)},${y(first.rate).toFixed(1)} L${x(first.end).toFixed(1)},${y(first.rate).toFixed(1)}`
      return stretch.map((point, index) => `${index === 0 ? 'M' : 'L'}${x((point.start + point.end) / 2).toFixed(1)},${y(point.rate).toFixed(1)}`).join(' ')
    })
    .join(' ')
}

function agreementAxes(lowest: number, target: number, ticks: ReturnType<typeof timeTicks>, x: (time: number) => number, y: (rate: number) => number): string {
  const right = WIDTH - AGREEMENT.right
  const rates = [0, 1, 2, 3, 4].map((step) => lowest + ((1 - lowest) * step) / 4)
  const grid = rates.map(
    (rate) =>
      `<line class="grid" x1="${AGREEMENT.left}" y1="${y(rate).toFixed(1)}" x2="${right}" y2="${y(rate).toFixed(1)}"/>${text(AGREEMENT.left - 6, y(rate) + 4, `${Number((rate * 100).toFixed(1))} %`, ' text-anchor="end"')}`,
  )
  const bottom = AGREEMENT.top + PLOT_HEIGHT
  const times = ticks.times.map(
    (time) =>
      `<line class="tick" x1="${x(time).toFixed(1)}" y1="${bottom}" x2="${x(time).toFixed(1)}" y2="${bottom + 4}"/>${text(x(time), bottom + 17, ticks.label(time), ' class="time" text-anchor="middle"')}`,
  )
  const floor = `<line class="target" x1="${AGREEMENT.left}" y1="${y(target).toFixed(1)}" x2="${right}" y2="${y(target).toFixed(1)}"/>`
  const legend = `<line class="line-key" x1="${AGREEMENT.left}" y1="10" x2="${AGREEMENT.left + 22}" y2="10"/>${text(AGREEMENT.left + 28, 14, 'agreement per bucket')}<line class="target" x1="${AGREEMENT.left + 190}" y1="10" x2="${AGREEMENT.left + 212}" y2="10"/>${text(AGREEMENT.left + 218, 14, `readiness floor ${Number((target * 100).toFixed(2))} %`, ' class="target-label"')}`
  return grid.join('') + floor + times.join('') + legend
}

/** Agreement per timeline bucket on a time axis, with the readiness floor dashed. */
export function agreementChart(slice: SliceReport): string {
  const points = pointsOf(slice.timeline)
  const first = points[0]
  const last = points.at(-1)
  if (!first || !last) return `<p class="empty">No compared samples to chart.</p>`
  const target = slice.readiness.thresholds.minMatchRatePercent / 100
  const lowest = floorOf(points, target)
  const x = (time: number): number => AGREEMENT.left + ((time - first.start) / (last.end - first.start)) * PLOT_WIDTH
  const y = (rate: number): number => AGREEMENT.top + ((1 - rate) / (1 - lowest)) * PLOT_HEIGHT
  const dots = points
    .map(
      (point) =>
        `<circle cx="${x((point.start + point.end) / 2).toFixed(1)}" cy="${y(point.rate).toFixed(1)}" r="2.5"><title>${escapeHtml(`${point.bucket.start}: ${(point.rate * 100).toFixed(1)} % of ${point.bucket.agree + point.bucket.disagree}`)}</title></circle>`,
    )
    .join('')
  const labelY = y(last.rate) - 7 < AGREEMENT.top + 12 ? y(last.rate) + 16 : y(last.rate) - 7
  const latest = text(x(last.end), labelY, `latest ${(last.rate * 100).toFixed(1)} %`, ' class="value" text-anchor="end"')
  const body = `${agreementAxes(lowest, target, timeTicks(first.start, last.end), x, y)}<path class="line" d="${linePath(points, x, y)}"/>${points.length <= 120 ? dots : ''}${latest}`
  return svg('agreement', `Agreement over time for ${slice.slice}`, AGREEMENT.height, body)
}

/** What the agreement chart's caption says about its buckets. */
export function timelineNote(slice: SliceReport): string {
  const first = slice.timeline[0]
  const last = slice.timeline.at(-1)
  if (!first || !last) return ''
  const days = first.start.slice(0, 10) === last.start.slice(0, 10) ? first.start.slice(0, 10) : `${first.start.slice(0, 10)} → ${last.start.slice(0, 10)}`
  return `one point per ${duration(first.widthMs)}, times in UTC, ${days}`
}

// ─── Horizontal bars with their values written ──────────────────────────────────────────────────

interface Bar {
  readonly label: string
  readonly value: number | null
  readonly text: string
  readonly className: string
}

const BAR = { height: 16, gap: 4, groupGap: 14, labelWidth: 118, valueWidth: 92 } as const

function barRows(groups: readonly { readonly title: string; readonly bars: readonly Bar[] }[], top: number): { body: string; height: number } {
  const max = Math.max(1e-9, ...groups.flatMap((group) => group.bars.map((bar) => bar.value ?? 0)))
  const span = WIDTH - BAR.labelWidth - BAR.valueWidth
  let y = top
  const body = groups.map((group) => {
    const rows = group.bars.map((bar, index) => {
      const width = bar.value === null ? 0 : Math.max(1, (bar.value / max) * span)
      const row = `${index === 0 && group.title ? text(0, y + 12, group.title, ' class="group"') : ''}${text(BAR.labelWidth - 6, y + 12, bar.label, ' text-anchor="end"')}<rect class="${bar.className}" x="${BAR.labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${BAR.height}"/>${text(BAR.labelWidth + width + 5, y + 12, bar.text, ' class="value"')}`
      y += BAR.height + BAR.gap
      return row
    })
    y += BAR.groupGap - BAR.gap
    return rows.join('')
  })
  return { body: body.join(''), height: y }
}

const QUANTILES = ['p50', 'p95', 'p99'] as const

/** p50, p95 and p99 of each side as bars, the milliseconds written beside each. */
export function latencyChart(slice: SliceReport): string {
  const { legacy, modern } = slice.latency
  if (legacy.count === 0 && modern.count === 0) return `<p class="empty">No latency measured.</p>`
  const groups = QUANTILES.map((q) => ({
    title: q,
    bars: [
      { label: 'legacy', value: legacy[q], text: legacy[q] === null ? 'not measured' : ms(legacy[q]), className: 'legacy' },
      { label: 'modern', value: modern[q], text: modern[q] === null ? 'not measured' : ms(modern[q]), className: 'modern' },
    ],
  }))
  const { body, height } = barRows(groups, 4)
  return svg('latency', `Latency of legacy and modern for ${slice.slice}`, height, body)
}

/** `250 ms`, `2 s`, `5 min`. */
function lagBound(valueMs: number): string {
  if (valueMs < 1_000) return `${valueMs} ms`
  return valueMs < MINUTE ? `${valueMs / 1_000} s` : duration(valueMs)
}

/** How long modern took to catch up: the lags per bucket, counts written beside the bars. */
export function lagChart(slice: SliceReport): string {
  let below: number | null = null
  const bars = slice.lag.buckets.map((bucket) => {
    const label = below === null ? `≤ ${lagBound(bucket.upToMs)}` : `${lagBound(below)} – ${lagBound(bucket.upToMs)}`
    below = bucket.upToMs
    return { label, value: bucket.count, text: String(bucket.count), className: 'f-timing-lag' }
  })
  const { body, height } = barRows([{ title: '', bars }], 4)
  return svg('lag', `Timing lags of ${slice.slice}`, height, body)
}

/** A small bar inside a table cell: `value` of `max`. */
export function cellBar(value: number, max: number, className: string): string {
  const width = max <= 0 ? 0 : Math.max(1, (value / max) * 100)
  return `<svg class="cell-bar" viewBox="0 0 100 10" width="100" height="10" aria-hidden="true"><rect class="${className}" width="${width.toFixed(1)}" height="10"/></svg>`
}

/** Every record of a slice split by family, as one stacked bar. */
export function familyMix(families: SliceReport['families'], order: readonly (keyof SliceReport['families'])[]): string {
  const total = order.reduce((sum, family) => sum + families[family], 0)
  if (total === 0) return ''
  let x = 0
  const parts = order.map((family) => {
    const width = (families[family] / total) * 200
    const part =
      width === 0
        ? ''
        : `<rect class="f-${family}" x="${x.toFixed(2)}" width="${width.toFixed(2)}" height="8"><title>${escapeHtml(`${family}: ${families[family]}`)}</title></rect>`
    x += width
    return part
  })
  return `<svg class="mix" viewBox="0 0 200 8" width="200" height="8" role="img" aria-label="outcomes">${parts.join('')}</svg>`
}
