/** A request target as path and query (`?…`, or empty). Absolute-form targets (RFC 9112 §3.2.2) are reduced to their path and query. */
export function splitUrl(url: string): { path: string; query: string } {
  let target = url
  if (!url.startsWith('/')) {
    try {
      const parsed = new URL(url)
      target = parsed.pathname + parsed.search
    } catch {
      target = '/'
    }
  }
  const mark = target.indexOf('?')
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark) }
}
