import { CATEGORIES } from '../compare/classify.ts'
import type { Report, SliceReport } from './report.ts'

/** Every value that reaches the page goes through here: a slice name or a path is text, never markup. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char)
}

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)} %`)
const WIDTH = 560
const HEIGHT = 180
const PAD = 36

function agreementChart(slice: SliceReport): string {
  const points = slice.timeline.filter((bucket) => bucket.matchRate !== null)
  const label = `Agreement over time for ${slice.slice}`
  if (points.length === 0) return `<p class="empty">No compared samples to chart.</p>`
  const x = (index: number): number => PAD + (points.length === 1 ? (WIDTH - 2 * PAD) / 2 : (index * (WIDTH - 2 * PAD)) / (points.length - 1))
  const y = (rate: number): number => HEIGHT - PAD - rate * (HEIGHT - 2 * PAD)
  const path = points.map((bucket, index) => `${index === 0 ? 'M' : 'L'}${x(index).toFixed(1)},${y(bucket.matchRate ?? 0).toFixed(1)}`).join(' ')
  const dots = points
    .map((bucket, index) => `<circle cx="${x(index).toFixed(1)}" cy="${y(bucket.matchRate ?? 0).toFixed(1)}" r="3"><title>${escapeHtml(bucket.start)}: ${percent(bucket.matchRate)} of ${bucket.agree + bucket.disagree}</title></circle>`)
    .join('')
  return `<svg data-chart="agreement" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}">
<title>${escapeHtml(label)}</title>
<line class="axis" x1="${PAD}" y1="${y(0)}" x2="${WIDTH - PAD}" y2="${y(0)}"/><line class="axis" x1="${PAD}" y1="${y(1)}" x2="${WIDTH - PAD}" y2="${y(1)}"/>
<text x="4" y="${y(1) + 4}">100 %</text><text x="4" y="${y(0) + 4}">0 %</text>
<text x="${PAD}" y="${HEIGHT - 8}">${escapeHtml(points[0]?.start ?? '')}</text><text x="${WIDTH - PAD}" y="${HEIGHT - 8}" text-anchor="end">${escapeHtml(points.at(-1)?.start ?? '')}</text>
<path class="line" d="${path}"/>${dots}
</svg>`
}

function latencyChart(slice: SliceReport): string {
  const label = `Latency legacy vs modern for ${slice.slice}`
  const groups = (['p50', 'p95', 'p99'] as const).map((name) => ({ name, legacy: slice.latency.legacy[name], modern: slice.latency.modern[name] }))
  const max = Math.max(1, ...groups.flatMap((group) => [group.legacy ?? 0, group.modern ?? 0]))
  if (groups.every((group) => group.legacy === null && group.modern === null)) return `<p class="empty">No latency measured.</p>`
  const band = (WIDTH - 2 * PAD) / groups.length
  const bar = (value: number | null, index: number, offset: number, side: string): string => {
    if (value === null) return ''
    const height = (value / max) * (HEIGHT - 2 * PAD)
    const x = PAD + index * band + offset
    return `<rect class="${side}" x="${x.toFixed(1)}" y="${(HEIGHT - PAD - height).toFixed(1)}" width="${(band / 3).toFixed(1)}" height="${height.toFixed(1)}"><title>${side} ${escapeHtml(groups[index]?.name)}: ${value.toFixed(1)} ms</title></rect>`
  }
  const bars = groups.map((group, index) => `${bar(group.legacy, index, band / 6, 'legacy')}${bar(group.modern, index, band / 2, 'modern')}<text x="${(PAD + index * band + band / 2).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle">${group.name}</text>`).join('')
  return `<svg data-chart="latency" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}">
<title>${escapeHtml(label)}</title>
<line class="axis" x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}"/><text x="4" y="${PAD}">${max.toFixed(1)} ms</text>
${bars}
<rect class="legacy" x="${WIDTH - 150}" y="6" width="10" height="10"/><text x="${WIDTH - 136}" y="15">legacy</text>
<rect class="modern" x="${WIDTH - 80}" y="6" width="10" height="10"/><text x="${WIDTH - 66}" y="15">modern</text>
</svg>`
}

function pathsChart(slice: SliceReport): string {
  if (slice.topPaths.length === 0) return `<p class="empty">No differing paths.</p>`
  const label = `Top differing paths for ${slice.slice}`
  const row = 22
  const height = slice.topPaths.length * row + 10
  const max = Math.max(...slice.topPaths.map((path) => path.count))
  const bars = slice.topPaths
    .map((path, index) => {
      const width = (path.count / max) * (WIDTH - 260)
      return `<text x="0" y="${index * row + 16}">${escapeHtml(path.path.length > 34 ? `${path.path.slice(0, 33)}…` : path.path)}</text><rect class="diff" x="230" y="${index * row + 4}" width="${width.toFixed(1)}" height="14"><title>${escapeHtml(path.path)}: ${path.count} (e.g. ${escapeHtml(path.exampleRequestId)})</title></rect><text x="${(236 + width).toFixed(1)}" y="${index * row + 16}">${path.count}</text>`
    })
    .join('')
  return `<svg data-chart="paths" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}"><title>${escapeHtml(label)}</title>${bars}</svg>`
}

function sliceSection(slice: SliceReport): string {
  const criteria = slice.readiness.criteria
    .map((criterion) => `<li class="${criterion.met ? 'met' : 'unmet'}"><span class="mark">${criterion.met ? '✔ met' : '✘ not met'}</span> <b>${escapeHtml(criterion.id)}</b>: ${escapeHtml(criterion.detail)}</li>`)
    .join('')
  const categories = CATEGORIES.map((category) => `<tr><td>${category}</td><td>${slice.categories[category]}</td></tr>`).join('')
  const untranslated = slice.untranslated.map((item) => `<tr><td><code>${escapeHtml(item.path)}</code></td><td><code>${escapeHtml(item.value)}</code></td><td>${item.count}</td><td>${escapeHtml(item.exampleRequestId)}</td></tr>`).join('')
  return `<section>
<h2>${escapeHtml(slice.slice)} <span class="verdict ${slice.readiness.ready ? 'ready' : 'unready'}">${slice.readiness.ready ? 'READY' : 'NOT READY'}</span></h2>
${slice.description ? `<p>${escapeHtml(slice.description)}</p>` : ''}
<p>${slice.records} comparisons, ${slice.samples} compared; match rate ${percent(slice.matchRate?.value)}${slice.matchRate ? ` (95 % CI ${percent(slice.matchRate.lower)} – ${percent(slice.matchRate.upper)})` : ''}; error rate legacy ${percent(slice.errorRate.legacy)}, modern ${percent(slice.errorRate.modern)}.</p>
<ul class="criteria">${criteria}</ul>
<div class="charts"><figure><figcaption>Agreement over time</figcaption>${agreementChart(slice)}</figure>
<figure><figcaption>Latency, legacy vs modern</figcaption>${latencyChart(slice)}</figure>
<figure><figcaption>Top differing paths</figcaption>${pathsChart(slice)}</figure></div>
<table><thead><tr><th>category</th><th>count</th></tr></thead><tbody>${categories}</tbody></table>
${untranslated ? `<table><thead><tr><th>untranslated path</th><th>value</th><th>count</th><th>example request</th></tr></thead><tbody>${untranslated}</tbody></table>` : ''}
</section>`
}

/** One self-contained HTML file: no script, no external resource, charts as inline SVG. */
export function renderHtml(report: Report): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ficus shadow-run report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1b1f23; padding: 0 1rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
.verdict { font-size: .8em; padding: .1em .5em; border-radius: .3em; }
.ready { background: #d9f2dd; color: #165c26; } .unready { background: #fbe0e0; color: #8a1c1c; }
.criteria { list-style: none; padding: 0; } .met .mark { color: #165c26; } .unmet .mark { color: #8a1c1c; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; } figcaption { font-weight: 600; }
svg text { font-size: 11px; fill: #444; } .axis { stroke: #bbb; } .line { fill: none; stroke: #1f6feb; stroke-width: 2; } circle { fill: #1f6feb; }
rect.legacy { fill: #8c959f; } rect.modern { fill: #1f6feb; } rect.diff { fill: #d1242f; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ddd; padding: .2rem .6rem; text-align: left; }
.empty { color: #666; font-style: italic; }
</style>
</head>
<body>
<h1>Ficus shadow-run report</h1>
<p>Generated ${escapeHtml(report.generatedAt)} from ${escapeHtml(report.source)}; window ${escapeHtml(report.window.from ?? 'beginning')} → ${escapeHtml(report.window.to ?? 'now')}; ${report.read} record(s) read, ${report.duplicates} duplicate(s) counted once.</p>
${report.slices.map(sliceSection).join('\n')}
</body>
</html>
`
}
