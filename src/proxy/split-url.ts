// An absolute-form target (RFC 9112 §3.2.2): scheme, authority, then the rest exactly as sent.
const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?#]*(.*)$/s

/**
 * A request target as path and query (`?…`, or empty), never normalised: an absolute-form target
 * keeps the path and query it was sent with (a URL parser would resolve `..` and turn `\` into `/`,
 * hiding what the path rule must see). A target that is no path at all — the asterisk form, an
 * absolute URL of another scheme — comes back as it is, and the path rule refuses it.
 */
export function splitUrl(url: string): { path: string; query: string } {
  let target = url
  if (!url.startsWith('/')) {
    const absolute = ABSOLUTE_FORM.exec(url)
    const scheme = absolute?.[1]?.toLowerCase()
    if (absolute && (scheme === 'http' || scheme === 'https')) {
      const rest = absolute[2] ?? ''
      target = rest.startsWith('/') ? rest : `/${rest}`
    } else return { path: url, query: '' }
  }
  const mark = target.indexOf('?')
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark) }
}
