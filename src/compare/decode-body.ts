import { brotliDecompress, gunzip, inflate, inflateRaw, type InputType } from 'node:zlib'
import { promisify } from 'node:util'
import type { JsonValue } from './json-pointer.ts'
import { codingToken } from './header-tokens.ts'

const decoders = {
  gzip: promisify<InputType, { maxOutputLength: number }, Buffer>(gunzip),
  'x-gzip': promisify<InputType, { maxOutputLength: number }, Buffer>(gunzip),
  br: promisify<InputType, { maxOutputLength: number }, Buffer>(brotliDecompress),
  deflate: promisify<InputType, { maxOutputLength: number }, Buffer>(inflate),
} as const
const inflateRawAsync = promisify<InputType, { maxOutputLength: number }, Buffer>(inflateRaw)

/** A response body as captured next to the stream: the first bytes (up to a cap) and a hash of all of it. */
export interface CapturedBody {
  /** The first `cap` bytes, still content-encoded. */
  readonly bytes: Buffer
  /** True when `bytes` holds the whole body. */
  readonly complete: boolean
  /** Length of the whole (encoded) body. */
  readonly length: number
  /** `sha256:<hex>` of the whole (encoded) body. */
  readonly sha256: string
}

/** An answer's headers as undici and node:http give them (lower-case names). */
export type AnswerHeaders = Readonly<Record<string, string | string[] | undefined>>

/** What `viewBody` reads of an answer: its captured body and its headers. */
export interface CapturedResponse {
  readonly body: CapturedBody
  readonly headers: AnswerHeaders
}

/** What a body is to the comparison. */
export type BodyView =
  | { readonly kind: 'json'; readonly value: JsonValue }
  | { readonly kind: 'empty' }
  /** Not JSON: compared by hash of its decoded bytes, with its content type. */
  | { readonly kind: 'bytes'; readonly sha256: string }
  /** Labelled JSON but does not parse. */
  | { readonly kind: 'invalid-json'; readonly reason: string }
  /** Over the capture cap, or compressed in a way that cannot be read: compared by the hash of the raw stream. */
  | { readonly kind: 'opaque'; readonly sha256: string; readonly reason: string }

function header(headers: AnswerHeaders, name: string): string {
  const value = headers[name]
  return (Array.isArray(value) ? value.join(', ') : (value ?? '')).toLowerCase()
}

export function isJsonContentType(contentType: string): boolean {
  return /^application\/([\w.+-]+\+)?json\b/.test(contentType) || contentType.startsWith('text/json')
}

/**
 * True when `viewBody` reads two captured answers alike: the same whole bytes, under the same
 * content encoding and content type. Both sides of a converging slice often answer so; the body is
 * then decoded and parsed once, and its view shared (nothing downstream modifies a view).
 */
export function sameView(a: CapturedResponse, b: CapturedResponse): boolean {
  return (
    a.body.complete &&
    b.body.complete &&
    a.body.length === b.body.length &&
    a.body.sha256 === b.body.sha256 &&
    header(a.headers, 'content-encoding') === header(b.headers, 'content-encoding') &&
    header(a.headers, 'content-type') === header(b.headers, 'content-type')
  )
}

/**
 * Decodes (gzip, br, deflate) and parses a captured body, bounded: the decoded body may not exceed
 * `maxDecodedBytes` (a compressed bomb becomes `opaque`, not an out-of-memory).
 */
export async function viewBody(body: CapturedBody, headers: AnswerHeaders, maxDecodedBytes: number, hashOf: (bytes: Buffer) => string): Promise<BodyView> {
  if (!body.complete) return { kind: 'opaque', sha256: body.sha256, reason: 'over-capture-cap' }
  if (body.length === 0) return { kind: 'empty' }
  let decoded = body.bytes
  const encoding = header(headers, 'content-encoding').trim()
  if (encoding !== '' && encoding !== 'identity') {
    const decode = decoders[encoding as keyof typeof decoders] as ((input: InputType, options: { maxOutputLength: number }) => Promise<Buffer>) | undefined
    if (!decode) return { kind: 'opaque', sha256: body.sha256, reason: `content-encoding ${codingToken(encoding)}` }
    try {
      decoded = await decode(body.bytes, { maxOutputLength: maxDecodedBytes })
    } catch (err) {
      // Some servers send raw deflate under "deflate".
      if (encoding === 'deflate') {
        try {
          decoded = await inflateRawAsync(body.bytes, { maxOutputLength: maxDecodedBytes })
        } catch {
          return { kind: 'opaque', sha256: body.sha256, reason: 'undecodable deflate body' }
        }
      } else return { kind: 'opaque', sha256: body.sha256, reason: `${encoding} body could not be decoded (${(err as NodeJS.ErrnoException).code ?? 'error'})` }
    }
  }
  if (!isJsonContentType(header(headers, 'content-type'))) return { kind: 'bytes', sha256: hashOf(decoded) }
  try {
    return { kind: 'json', value: JSON.parse(decoded.toString('utf8')) as JsonValue }
  } catch (err) {
    return { kind: 'invalid-json', reason: (err as Error).message.slice(0, 200) }
  }
}
