import type { Registry } from 'prom-client'

/**
 * OpenMetrics 1.0 exposition (https://prometheus.io/docs/specs/om/open_metrics_spec/): which
 * format a scraper asked for, and the text of a registry in it.
 */

const OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text'
/** The one OpenMetrics version written here; an Accept range naming another is not served by it. */
const OPENMETRICS_VERSION = '1.0.0'
/** Media ranges the Prometheus text format (0.0.4) satisfies. */
const PROMETHEUS_TEXT_RANGES = new Set(['text/plain', 'text/*', '*/*'])

/**
 * Whether an Accept header prefers OpenMetrics 1.0 to the Prometheus text format: the acceptable
 * range with the highest q-value decides (RFC 9110 §12.5.1), the earlier one on a tie. No header,
 * or nothing either format satisfies, means the Prometheus text format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  let best: { q: number; openMetrics: boolean } | undefined
  for (const text of (accept ?? '').split(',')) {
    const range = mediaRange(text)
    const q = range.parameters.has('q') ? Number(range.parameters.get('q')) : 1
    if (!(q > 0)) continue
    const openMetrics = range.type === OPENMETRICS_MEDIA_TYPE && (range.parameters.get('version') ?? OPENMETRICS_VERSION) === OPENMETRICS_VERSION
    if (!openMetrics && !PROMETHEUS_TEXT_RANGES.has(range.type)) continue
    if (best === undefined || q > best.q) best = { q, openMetrics }
  }
  return best?.openMetrics ?? false
}

/** One media range of an Accept header, `type/subtype;name=value;…`, lower-cased. */
function mediaRange(text: string): { type: string; parameters: Map<string, string> } {
  const [type = '', ...parameters] = text.split(';').map((part) => part.trim().toLowerCase())
  return {
    type,
    parameters: new Map(
      parameters.map((parameter) => {
        const at = parameter.indexOf('=')
        return at < 0
          ? [parameter, '']
          : [
              parameter.slice(0, at).trim(),
              parameter
                .slice(at + 1)
                .trim()
                .replace(/^"(.*)"$/, '$1'),
            ]
      }),
    ),
  }
}

/**
 * The registry's metrics as OpenMetrics text, ending in `# EOF`. A counter's family is named
 * without `_total` and its samples with it. Rendered here rather than by switching a registry to
 * OpenMetrics: prom-client's `Registry.metrics()` then strips `_total` from the shared counter
 * objects in place, and the Prometheus format served from them afterwards loses it too.
 */
export async function openMetricsText(registry: Registry): Promise<string> {
  const lines: string[] = []
  for (const family of await registry.getMetricsAsJSON()) {
    // prom-client's typings declare `type` a numeric enum; at run time it is the type's name.
    const type = String(family.type)
    const name = type === 'counter' ? family.name.replace(/_total$/, '') : family.name
    lines.push(`# HELP ${name} ${escape(family.help)}`, `# TYPE ${name} ${type}`)
    for (const sample of family.values) {
      const sampleName = type === 'counter' ? `${name}_total` : 'metricName' in sample && typeof sample.metricName === 'string' ? sample.metricName : name
      const labels = Object.entries(sample.labels).map(([label, value]) => `${label}="${escape(String(value))}"`)
      lines.push(`${sampleName}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${number(sample.value)}`)
    }
  }
  lines.push('# EOF')
  return `${lines.join('\n')}\n`
}

/** Escapes a HELP text or label value: backslash, line feed and double quote. */
function escape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
