import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { viewBody, type CapturedBody } from '../../src/compare/decode-body.ts'
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
