import type { Comparison } from '../compare/comparison.ts'
import type { Side } from '../config/schema.ts'

/** Version of the captured pair's (decrypted) content. */
export const CAPTURE_FORMAT_VERSION = 1

/** One side's answer as captured: what the comparer needs to judge it again. */
export interface CapturedAnswer {
  readonly status: number
  /** The answer's headers as received (hop-by-hop removed), lower-case names. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  /** The body's first bytes as captured (at most the slice's capture cap), base64. */
  readonly body: string
  /** True when `body` is the whole body. */
  readonly complete: boolean
  /** The body's full length in bytes. */
  readonly length: number
  /** `sha256:<hex>` of the whole body as received. */
  readonly sha256: string
}

/**
 * Both answers of one shadowed request, kept (encrypted, for a bounded time) so that the pair can
 * be judged again under newer or candidate rules (`ficus recompare`). The answer judged for the
 * shadow side is the one the comparison rests on (the converged one after a timing lag).
 */
export interface CapturedPair {
  readonly version: typeof CAPTURE_FORMAT_VERSION
  /** When the pair was captured (ISO 8601). */
  readonly capturedAt: string
  readonly slice: string
  /** Method and path template of the route, as in the comparison ("GET /policies/:id"). */
  readonly route: string
  readonly method: string
  readonly primarySide: Side
  readonly legacy: CapturedAnswer
  readonly modern: CapturedAnswer
  /** The comparison the gateway published for this pair: the "before" of a replay, and its causation. */
  readonly comparison: Comparison
}
