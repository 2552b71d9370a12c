/**
 * Path templates as written in routes.config.ts: `/pas/v1/policy/:polNo/status`, with `:name`
 * parameters standing for one path segment and an optional trailing `*` for the rest of the path.
 * This module owns the syntax (parse, shape, render); matching lives in src/routing/.
 */

export type TemplateSegment =
  { readonly kind: 'static'; readonly value: string } | { readonly kind: 'param'; readonly name: string } | { readonly kind: 'wildcard' }

export interface PathTemplate {
  readonly source: string
  readonly segments: readonly TemplateSegment[]
  /** Parameter names in order of appearance; the wildcard is named `*`. */
  readonly params: readonly string[]
}

export const WILDCARD_PARAM = '*'

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// RFC 3986 pchar, without ":" at the start of a segment (that introduces a parameter).
const STATIC_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/

export type ParseResult = { ok: true; template: PathTemplate } | { ok: false; error: string }

export function parsePathTemplate(source: string): ParseResult {
  if (!source.startsWith('/')) return { ok: false, error: `must start with "/" (got ${JSON.stringify(source)})` }
  if (/[?#]/.test(source)) return { ok: false, error: 'must not contain a query or fragment ("?" or "#")' }
  if (source === '/') return { ok: true, template: { source, segments: [], params: [] } }

  const raw = source.slice(1).split('/')
  const segments: TemplateSegment[] = []
  const params: string[] = []
  for (const [index, part] of raw.entries()) {
    const last = index === raw.length - 1
    if (part === '') {
      if (!last) return { ok: false, error: `has an empty segment ("//") in ${JSON.stringify(source)}` }
      segments.push({ kind: 'static', value: '' }) // a trailing slash is significant
    } else if (part === '*') {
      if (!last) return { ok: false, error: '"*" may only be the last segment' }
      segments.push({ kind: 'wildcard' })
      params.push(WILDCARD_PARAM)
    } else if (part.startsWith(':')) {
      const name = part.slice(1)
      if (!PARAM_NAME.test(name)) {
        return { ok: false, error: `${JSON.stringify(part)} is not a valid parameter (":" then letters, digits or "_")` }
      }
      if (params.includes(name)) return { ok: false, error: `declares ":${name}" twice` }
      segments.push({ kind: 'param', name })
      params.push(name)
    } else if (part === '.' || part === '..') {
      return { ok: false, error: `must not contain dot segments ("${part}")` }
    } else if (!STATIC_SEGMENT.test(part)) {
      return { ok: false, error: `segment ${JSON.stringify(part)} has characters not allowed in a URL path` }
    } else {
      segments.push({ kind: 'static', value: part })
    }
  }
  return { ok: true, template: { source, segments, params } }
}

/** The template with parameter names erased: two routes of the same method and shape collide. */
export function templateShape(template: PathTemplate): string {
  if (template.segments.length === 0) return '/'
  return template.segments.map((segment) => (segment.kind === 'static' ? `/${segment.value}` : segment.kind === 'param' ? '/:' : '/*')).join('')
}

/** Fills a template with already-encoded parameter values (as they were matched from a request). */
export function renderPathTemplate(template: PathTemplate, params: Readonly<Record<string, string>>): string {
  if (template.segments.length === 0) return '/'
  let out = ''
  for (const segment of template.segments) {
    if (segment.kind === 'static') out += `/${segment.value}`
    else if (segment.kind === 'param') out += `/${params[segment.name] ?? ''}`
    else out += `/${params[WILDCARD_PARAM] ?? ''}`
  }
  return out
}
