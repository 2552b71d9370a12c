import { createHash, hash, type Hash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { CapturedBody } from '../compare/decode-body.ts'

/**
 * Keeps the first `cap` bytes of a body and hashes all of it. A body within the cap (most answers)
 * is hashed once at its end, in one call; past the cap, what was kept and every later chunk go
 * through a running hash.
 */
export class Capture {
  readonly #cap: number
  #hash: Hash | undefined
  readonly #chunks: Buffer[] = []
  #length = 0

  constructor(cap: number) {
    this.#cap = cap
  }

  take(chunk: Buffer): void {
    this.#length += chunk.length
    if (this.#hash) {
      this.#hash.update(chunk)
      return
    }
    if (this.#length <= this.#cap) {
      this.#chunks.push(chunk)
      return
    }
    // The first chunk past the cap: hash what was kept (every chunk so far, whole) and this one, keep its head.
    const hash = createHash('sha256')
    for (const kept of this.#chunks) hash.update(kept)
    hash.update(chunk)
    this.#hash = hash
    const room = this.#cap - (this.#length - chunk.length)
    if (room > 0) this.#chunks.push(chunk.subarray(0, room))
  }

  captured(): CapturedBody {
    const bytes = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    const hex = this.#hash ? this.#hash.digest('hex') : hash('sha256', bytes, 'hex')
    return { bytes, complete: this.#hash === undefined, length: this.#length, sha256: `sha256:${hex}` }
  }
}

/**
 * Captures a body, every chunk hashed and up to `cap` bytes kept, from a 'data' listener: beside
 * the consumer's when the body streams elsewhere (the primary answer on its way to the client: no
 * stream in between, so it is piped as it would be without a comparison), or alone, reading it to
 * its end (the shadow answer, which nobody else reads; no async iterator per chunk). Rejects when
 * the body fails or closes before its end.
 */
export function tapBody(body: Readable, cap: number): Promise<CapturedBody> {
  const capture = new Capture(cap)
  const result = new Promise<CapturedBody>((resolve, reject) => {
    const onData = (chunk: Buffer | string): void => capture.take(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    body.on('data', onData)
    body.once('end', () => resolve(capture.captured()))
    body.once('error', reject)
    body.once('close', () => {
      body.off('data', onData)
      if (!body.readableEnded) reject(new Error('body ended early'))
    })
  })
  // A failed capture is reported through the comparison, never as an unhandled rejection.
  result.catch(() => undefined)
  return result
}

/** `sha256:<hex>` of some bytes: the hash bodies are compared and published by. */
export function sha256(bytes: Buffer): string {
  return `sha256:${hash('sha256', bytes, 'hex')}`
}

export type CapturedRequest = { readonly complete: true; readonly body: Buffer } | { readonly complete: false; readonly replay: Readable }

/**
 * Reads a request body up to `cap` bytes. Within the cap it is returned whole, to be sent to both
 * sides; beyond it, a stream replaying what was read followed by the rest goes to the primary only.
 */
export async function captureRequestBody(source: Readable, cap: number): Promise<CapturedRequest> {
  const chunks: Buffer[] = []
  let size = 0
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  for (;;) {
    const next = await iterator.next()
    if (next.done === true) return { complete: true, body: Buffer.concat(chunks) }
    chunks.push(next.value)
    size += next.value.length
    if (size > cap) break
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* chunks
    for (;;) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  }
  return { complete: false, replay: Readable.from(replay(), { objectMode: false }) }
}
