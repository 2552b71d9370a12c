/** Family colours: green agrees, amber and brown need work on the migration or the data, red is a real disagreement, greys were not compared. */
const FAMILY_COLOURS = {
  match: '#2da44e',
  noise: '#9be9a8',
  'timing-lag': '#54aeff',
  'translation-defect': '#d4a72c',
  'source-data-defect': '#a0522d',
  'genuine-conflict': '#cf222e',
  'not-compared': '#8c959f',
  'shadow-error': '#57606a',
  'shadow-skipped': '#d0d7de',
  'primary-error': '#8250df',
} as const

const familyRules = Object.entries(FAMILY_COLOURS)
  .map(([family, colour]) => `.f-${family} { fill: ${colour}; background: ${colour}; }`)
  .join('\n')

/**
 * The report's style sheet: a screen page up to 1200 px wide, and A4 landscape on paper — each
 * slice on a new page, no figure or table cut in two, colours kept.
 */
export const REPORT_STYLE = `
:root { --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #b42318; --bad-bg: #ffebe9; --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --legacy: #8c959f; --modern: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1240px; color: #1f2328; }
h1 { font-size: 1.6rem; margin: 0; }
h2 { font-size: 1.3rem; margin: 0; }
h3 { font-size: 1rem; margin: 1.1rem 0 .4rem; }
code, td.code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: break-word; }
.meta, .note, .guide, .evidence { color: var(--muted); }
.meta { margin: .25rem 0 1rem; font-size: .9rem; }
.guide { font-size: .85rem; max-width: 60rem; }
.overview h2 { margin: .5rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .28rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; border-bottom: 2px solid var(--line); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.zero td, td.zero { color: #8c959f; }
.summary { font-size: .88rem; }
.summary th[scope="row"] { width: 13rem; }
.summary .name { font-weight: 700; font-size: 1rem; overflow-wrap: anywhere; }
.summary .note { font-size: .78rem; font-weight: 400; margin-bottom: .2rem; }
.summary th.family { font-size: .78rem; font-weight: 600; vertical-align: bottom; text-align: center; padding: .3rem .25rem; }
.summary th.family .upright { writing-mode: vertical-rl; transform: rotate(180deg); max-height: 5.6rem; line-height: 1.15; text-align: left; display: inline-block; }
.summary th.family .swatch { margin: 0 0 .35em; }
.summary td[data-family] { padding-left: .25rem; padding-right: .45rem; }
.summary td[data-column="verdict"] { width: 11rem; }
.summary td[data-column="authority"] { width: 8.5rem; }
.summary .rate { font-weight: 700; font-size: 1rem; }
.summary .ci { font-size: .75rem; color: var(--muted); }
.summary th.families-head { text-align: center; }
.summary td[data-family="genuine-conflict"]:not(.zero) { color: var(--bad); font-weight: 700; }
.warning { display: inline-block; margin-top: .25rem; padding: .1rem .4rem; border-radius: .25rem; background: var(--bad-bg); color: var(--bad); font-weight: 700; font-size: .78rem; }
.slice-head .warning { margin: 0 0 0 .6rem; font-size: .85rem; }
.blocking { font-size: .75rem; color: var(--bad); margin-top: .25rem; max-width: 16rem; }
.verdict { display: inline-block; font-weight: 700; font-size: .85rem; padding: .15em .6em; border-radius: .3em; white-space: nowrap; letter-spacing: .02em; }
.verdict.ready { background: var(--ok); color: white; } .verdict.unready { background: var(--bad); color: white; }
.swatch { display: inline-block; width: .7em; height: .7em; border-radius: .15em; margin-right: .35em; vertical-align: baseline; }
svg.mix { display: block; width: 11rem; height: .5rem; margin-top: .3rem; background: #eaeef2; }
section.slice { margin-top: 2.5rem; padding-top: 1rem; border-top: 3px solid #1f2328; }
.slice-head { display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; }
.slice-head h2 { font-size: 1.5rem; }
.slice-head .verdict { font-size: 1rem; }
.slice-head .authority { margin-left: auto; font-weight: 600; }
.description { margin: .3rem 0 .6rem; font-size: 1rem; }
.owner { margin: -.3rem 0 .6rem; color: var(--muted, #57606a); }
.tiles { display: grid; grid-template-columns: repeat(6, 1fr); gap: .6rem; margin: .6rem 0; }
.tile { border: 1px solid var(--line); border-radius: .4rem; padding: .45rem .6rem; background: var(--head); }
.tile .label { font-size: .78rem; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.tile .value { font-size: 1.35rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.tile .note { font-size: .75rem; }
.tile.alert { background: var(--bad-bg); border-color: #ffc1bc; } .tile.alert .value { color: var(--bad); }
.criteria td { padding: .2rem .5rem; }
.criteria tr.met .mark { color: var(--ok); font-weight: 600; white-space: nowrap; }
.criteria tr.unmet .mark { color: var(--bad); font-weight: 700; white-space: nowrap; }
.criteria tr.unmet { background: #fff5f4; }
.criteria td:last-child { color: var(--muted); font-size: .8rem; }
.families td:first-child { white-space: nowrap; }
.families td:last-child { color: var(--muted); }
.families td { padding-top: .18rem; padding-bottom: .18rem; }
.evidence { margin: .1rem 0 .3rem; font-size: .85rem; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; align-items: start; }
.grid.three { grid-template-columns: 1fr 1fr 1fr; }
figure { margin: .6rem 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
figure svg { width: 100%; height: auto; max-width: 560px; display: block; }
svg text { font-size: 12px; fill: #1f2328; }
svg .grid { stroke: #eaeef2; } svg .tick { stroke: #8c959f; }
svg .target { stroke: var(--bad); stroke-dasharray: 5 4; stroke-width: 1.2; }
svg text.target-label { fill: var(--bad); }
svg .line-key { stroke: var(--modern); stroke-width: 2; }
svg text.group { font-weight: 700; }
svg text.value { font-weight: 600; }
path.line { fill: none; stroke: var(--modern); stroke-width: 2; stroke-linejoin: round; }
svg circle { fill: var(--modern); }
rect.legacy { fill: var(--legacy); } rect.modern { fill: var(--modern); }
svg.cell-bar { width: 100px; height: 10px; background: #eaeef2; }
.empty { color: var(--muted); font-style: italic; }
${familyRules}
figure, table, .tiles { break-inside: avoid; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  body { font-size: 9.5pt; padding: 0; max-width: none; }
  table { font-size: 8.5pt; }
  .summary { font-size: 8.5pt; }
  section.slice { break-before: page; margin-top: 0; padding-top: .3rem; }
  h2, h3, figcaption { break-after: avoid; }
  .block, figure, table, .tiles, tr { break-inside: avoid; }
  .tiles { gap: .4rem; margin: .3rem 0; }
  .tile { padding: .25rem .45rem; }
  .tile .value { font-size: 1.15rem; }
  h3 { margin: .6rem 0 .3rem; }
  .criteria td { padding: .12rem .4rem; }
  .charts figure { margin: .3rem 0 0; }
  .criteria td:nth-child(2) { white-space: nowrap; }
  figure svg { max-width: 100%; }
}
`
