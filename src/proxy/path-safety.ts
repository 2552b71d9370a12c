/**
 * The one rule for request paths, for slice routes and fallthrough alike: a path that could mean
 * something else to an upstream than it means to the gateway is refused (400
 * FICUS_ERR_PATH_REJECTED), never normalised and never forwarded:
 * - a dot segment (`.` or `..`) in any spelling: literal, `%2e`, `%2E`, mixed (`.%2e`);
 * - an encoded slash or backslash (`%2f`, `%5c`) or a literal backslash: a segment boundary in disguise;
 * - a `;` anywhere in the path: path parameters (`..;/`) that servers strip before routing;
 * - a `#`: a fragment is never part of a request, and an upstream's URL parser would cut the path there;
 * - NUL and other control characters, raw or encoded, and malformed percent-encoding;
 * - a target that is not a path (`*`, a URL of a scheme other than http or https).
 * So nothing reaches a path outside an upstream's base path. The query string is not a path and is
 * passed on as it is.
 */
export type PathVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

const OK: PathVerdict = { ok: true }
// Any percent sign not followed by two hex digits.
const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL = /[\u0000-\u001f\u007f]/

export function checkPath(path: string): PathVerdict {
  if (path === '*') return { ok: false, reason: 'the asterisk-form target "*" is not accepted: name a path' }
  if (!path.startsWith('/')) return { ok: false, reason: 'the request target must be a path starting with "/" (or an http(s) URL)' }
  if (path.includes('#')) return { ok: false, reason: 'the request target contains "#" (a fragment is never sent to a server)' }
  if (path.includes(';')) return { ok: false, reason: 'the path contains ";" (path parameters are not accepted)' }
  if (path.includes('\\')) return { ok: false, reason: 'the path contains a backslash' }
  if (CONTROL.test(path)) return { ok: false, reason: 'the path contains a control character' }
  if (!path.includes('%') && !path.includes('.')) return OK
  if (BAD_ESCAPE.test(path)) return { ok: false, reason: 'the path has a malformed percent-encoding' }
  for (const segment of path.split('/')) {
    if (!segment.includes('%') && segment !== '.' && segment !== '..') continue
    const lower = segment.toLowerCase()
    if (lower.includes('%2f') || lower.includes('%5c')) return { ok: false, reason: 'the path contains an encoded slash or backslash' }
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return { ok: false, reason: 'the path has a malformed percent-encoding' }
    }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'the path contains a dot segment' }
    if (CONTROL.test(decoded)) return { ok: false, reason: 'the path contains an encoded control character' }
  }
  return OK
}
