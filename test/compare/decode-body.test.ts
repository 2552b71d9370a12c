import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { sameView, viewBody, type CapturedBody } from '../../src/compare/decode-body.ts'
import { sha256 } from '../../src/shadow/body-capture.ts'

const captured = (bytes: Buffer, complete = true): CapturedBody => ({ bytes, complete, length: bytes.length, sha256: sha256(bytes) })
const json = { policyNumber: 'P-1', status: 'ACTIVE' }
const text = Buffer.from(JSON.stringify(json))

describe('body views', () => {
  it('decodes gzip, br, deflate and raw deflate before parsing JSON', async () => {
    for (const [encoding, bytes] of [
      ['gzip', gzipSync(text)],
      ['br', brotliCompressSync(text)],
      ['deflate', deflateSync(text)],
      ['deflate', deflateRawSync(text)],
    ] as const) {
      expect(await viewBody(captured(bytes), { 'content-type': 'application/json', 'content-encoding': encoding }, 1_000_000, sha256), encoding).toEqual({
        kind: 'json',
        value: json,
      })
    }
  })

  it('refuses to inflate a body past the bound (a compression bomb stays opaque)', async () => {
    const bomb = gzipSync(Buffer.alloc(10_000_000, 'a'))
    expect(await viewBody(captured(bomb), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 1_000, sha256)).toMatchObject({ kind: 'opaque' })
  })

  it('hashes non-JSON bodies after decoding, and flags invalid JSON', async () => {
    expect(await viewBody(captured(gzipSync('plain text')), { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, 1_000, sha256)).toEqual({
      kind: 'bytes',
      sha256: sha256(Buffer.from('plain text')),
    })
    expect(await viewBody(captured(Buffer.from('{"a":')), { 'content-type': 'application/problem+json' }, 1_000, sha256)).toMatchObject({
      kind: 'invalid-json',
    })
  })

  it('treats a body over the capture cap as opaque, compared by the hash of the whole stream', async () => {
    expect(
      await viewBody(
        { bytes: Buffer.from('{'), complete: false, length: 10_000_000, sha256: 'sha256:abc' },
        { 'content-type': 'application/json' },
        1_000,
        sha256,
      ),
    ).toEqual({ kind: 'opaque', sha256: 'sha256:abc', reason: 'over-capture-cap' })
  })
})

describe('answers read alike (decoded once)', () => {
  const gz = gzipSync(text)
  const answer = (bytes: Buffer, headers: Record<string, string | string[]>, complete = true) => ({ body: captured(bytes, complete), headers })

  it('the same whole bytes under the same encoding and type, however the headers are cased or split', () => {
    expect(
      sameView(
        answer(gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
        answer(gz, { 'content-type': 'Application/JSON', 'content-encoding': ['GZIP'] }),
      ),
    ).toBe(true)
    expect(sameView(answer(text, { 'content-type': 'application/json' }), answer(text, { 'content-type': 'application/json' }))).toBe(true)
  })

  it('not when the bytes, their encoding, their type or their completeness differ', () => {
    const base = answer(gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    expect(sameView(base, answer(gzipSync(Buffer.from('{"status":"OTHER"}')), { 'content-type': 'application/json', 'content-encoding': 'gzip' }))).toBe(false)
    // The same bytes, but one side says they are not encoded: read as gzip on one side and raw on the other.
    expect(sameView(base, answer(gz, { 'content-type': 'application/json' }))).toBe(false)
    expect(sameView(base, answer(gz, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }))).toBe(false)
    expect(sameView(base, answer(gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, false))).toBe(false)
  })
})
