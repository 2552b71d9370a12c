import { createHash } from 'node:crypto'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import type { CapturedBody } from '../compare/decode-body.ts'

/**
 * Passes a body through unchanged while hashing all of it and keeping its first `cap` bytes:
 * the primary answer streams to the client and is captured for the comparison in one pass.
 */
export class BodyTap extends Transform {
  readonly result: Promise<CapturedBody>
  readonly #cap: number
  readonly #hash = createHash('sha256')
  readonly #chunks: Buffer[] = []
  #kept = 0
  #length = 0

  constructor(cap: number) {
    super()
    this.#cap = cap
    this.result = new Promise((resolve, reject) => {
      this.once('end', () => resolve(this.#captured()))
      this.once('error', reject)
      this.once('close', () => {
        if (!this.readableEnded) reject(new Error('body ended early'))
      })
    })
    // A failed capture is reported through the comparison, never as an unhandled rejection.
    this.result.catch(() => undefined)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#take(chunk)
    callback(null, chunk)
  }

  #take(chunk: Buffer): void {
    this.#hash.update(chunk)
    this.#length += chunk.length
    if (this.#kept < this.#cap) {
      const part = chunk.subarray(0, this.#cap - this.#kept)
      this.#chunks.push(part)
      this.#kept += part.length
    }
  }

  #captured(): CapturedBody {
    return { bytes: Buffer.concat(this.#chunks), complete: this.#length <= this.#cap, length: this.#length, sha256: `sha256:${this.#hash.digest('hex')}` }
  }

  /** Reads a body to its end through a tap (the shadow side's answer, which nobody else reads). */
  static async read(source: AsyncIterable<Buffer | Uint8Array | string>, cap: number): Promise<CapturedBody> {
    const tap = new BodyTap(cap)
    for await (const chunk of source) tap.#take(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    return tap.#captured()
  }
}

/** `sha256:<hex>` of some bytes: the hash bodies are compared and published by. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
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
