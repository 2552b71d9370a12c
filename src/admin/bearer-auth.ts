import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Checks an `Authorization: Bearer <token>` header against the configured token in constant time:
 * both sides are hashed first, so neither the content nor the length of the token leaks through
 * timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header !== undefined && /^Bearer /i.test(header) ? header.slice(7).trim() : ''
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(presented), digest(token)) && presented !== ''
}
