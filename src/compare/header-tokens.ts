// Header values that reach a published record or a cause: only their well-formed tokens, never the
// rest of the value, where anything (a name, a token) may hide — `application/json; owner=…`.

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/
const CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd', 'compress', 'x-compress', 'identity'])

/** `Application/JSON; charset=utf-8; owner=x` → `application/json`; anything not a media type → `other`. */
export function mediaTypeEssence(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null
  const essence = (value.split(';')[0] ?? '').trim().toLowerCase()
  return MEDIA_TYPE.test(essence) ? essence : 'other'
}

/** A content coding as it may be published: a registered coding's name, else `other`. */
export function codingToken(value: string): string {
  const coding = value.trim().toLowerCase()
  return CODINGS.has(coding) ? coding : 'other'
}
