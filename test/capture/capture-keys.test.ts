import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parseCaptureKeys } from '../../src/capture/capture-keys.ts'
import { readCaptureKeys } from '../../src/capture/read-captures.ts'
import { FicusError } from '../../src/errors/errors.ts'

const KEY_A = randomBytes(32).toString('base64')
const KEY_B = randomBytes(32).toString('base64')

function failure(value: string | undefined): FicusError {
  try {
    parseCaptureKeys(value)
  } catch (err) {
    expect(err).toBeInstanceOf(FicusError)
    return err as FicusError
  }
  throw new Error('expected the keys to be refused')
}

describe('FICUS_CAPTURE_KEYS', () => {
  it('refuses an absent or empty value with its own code', () => {
    expect(failure(undefined).code).toBe('FICUS_ERR_CAPTURE_KEY_MISSING')
    expect(failure('  ').code).toBe('FICUS_ERR_CAPTURE_KEY_MISSING')
    expect(() => readCaptureKeys({})).toThrow(/FICUS_CAPTURE_KEYS is not set/)
  })

  it('names the position and the problem of a malformed entry, never the key material', () => {
    const short = randomBytes(16).toString('base64')
    const cases: [string, RegExp][] = [
      [`k1:${KEY_A},${short}`, /entry 2: must be <keyId>:<base64 key>/],
      [`k1:${KEY_A},k2:${short}`, /entry 2: the key is 16 bytes; it must be exactly 32/],
      [`k1:${KEY_A}!`, /entry 1: the key is not valid base64/],
      [`bad id:${KEY_A}`, /entry 1: the key id must be 1 to 64/],
      [`${'k'.repeat(65)}:${KEY_A}`, /entry 1: the key id must be 1 to 64/],
      [`k1:${KEY_A},k1:${KEY_B}`, /entry 2: key id k1 is already used by entry 1/],
      [`:${KEY_A}`, /entry 1: the key id/],
    ]
    for (const [value, expected] of cases) {
      const err = failure(value)
      expect(err.code, value).toBe('FICUS_ERR_CAPTURE_KEY_INVALID')
      expect(err.message).toMatch(expected)
      for (const secret of [KEY_A, KEY_B, short, KEY_A.slice(0, 12), short.slice(0, 12)]) expect(err.message).not.toContain(secret)
      expect(JSON.stringify(err.details)).not.toContain(KEY_A.slice(0, 12))
    }
  })

  it('takes the first key to encrypt and every key to decrypt; shows key ids only', () => {
    const keys = parseCaptureKeys(` new:${KEY_B} , old:${KEY_A} `)
    expect(keys.current).toBe('new')
    expect(keys.ids).toEqual(['new', 'old'])
    const aad = Buffer.from('aad')
    const sealed = keys.seal(Buffer.from('hello'), aad)
    expect(keys.open('new', sealed, aad).toString()).toBe('hello')
    for (const shown of [JSON.stringify(keys), inspect(keys), JSON.stringify({ keys }), String(Object.keys(keys))]) {
      expect(shown).not.toContain(KEY_A.slice(0, 12))
      expect(shown).not.toContain(KEY_B.slice(0, 12))
      expect(shown).not.toContain(Buffer.from(KEY_B, 'base64').toString('hex').slice(0, 12))
    }
  })
})
