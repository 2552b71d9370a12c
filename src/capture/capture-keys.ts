import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { fail } from '../errors/errors.ts'

/** The environment variable of the capture keys: `<keyId>:<base64 of 32 bytes>`, comma-separated, the first encrypts. */
export const CAPTURE_KEYS_ENV = 'FICUS_CAPTURE_KEYS'
export const CAPTURE_KEY_BYTES = 32
export const CAPTURE_IV_BYTES = 12
export const CAPTURE_TAG_BYTES = 16
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const CIPHER = 'aes-256-gcm'

/** What sealing gives: the IV and the ciphertext with its 16-byte tag appended. */
export interface Sealed {
  readonly iv: Buffer
  readonly data: Buffer
}

/**
 * The capture keys (AES-256-GCM): the first encrypts, every one decrypts, so a new key is put first
 * and the old one kept until its captures expired. The key material stays inside: logging, JSON or
 * inspecting an instance shows the key ids only.
 */
export class CaptureKeys {
  readonly #keys: ReadonlyMap<string, Buffer>
  /** The id of the key new captures are encrypted with. */
  readonly current: string

  constructor(entries: readonly { readonly id: string; readonly key: Buffer }[]) {
    const first = entries[0]
    if (!first) throw new Error('CaptureKeys needs at least one key')
    this.current = first.id
    this.#keys = new Map(entries.map((entry) => [entry.id, Buffer.from(entry.key)]))
  }

  get ids(): string[] {
    return [...this.#keys.keys()]
  }

  has(id: string): boolean {
    return this.#keys.has(id)
  }

  /** Encrypts with the current key and a fresh random IV; `aad` is authenticated, not encrypted. */
  seal(plaintext: Buffer, aad: Buffer): Sealed {
    const iv = randomBytes(CAPTURE_IV_BYTES)
    const cipher = createCipheriv(CIPHER, this.#key(this.current), iv, { authTagLength: CAPTURE_TAG_BYTES })
    cipher.setAAD(aad)
    const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    return { iv, data }
  }

  /** Decrypts with the key `id`; throws when the key is unknown or authentication fails (the caller tells them apart with `has`). */
  open(id: string, sealed: Sealed, aad: Buffer): Buffer {
    if (sealed.iv.length !== CAPTURE_IV_BYTES || sealed.data.length < CAPTURE_TAG_BYTES) throw new Error('malformed sealed record')
    const decipher = createDecipheriv(CIPHER, this.#key(id), sealed.iv, { authTagLength: CAPTURE_TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(sealed.data.subarray(sealed.data.length - CAPTURE_TAG_BYTES))
    return Buffer.concat([decipher.update(sealed.data.subarray(0, sealed.data.length - CAPTURE_TAG_BYTES)), decipher.final()])
  }

  #key(id: string): Buffer {
    const key = this.#keys.get(id)
    if (!key) throw new Error('unknown capture key id')
    return key
  }

  toJSON(): { current: string; ids: string[] } {
    return { current: this.current, ids: this.ids }
  }

  [inspect.custom](): string {
    return `CaptureKeys { current: ${this.current}, ids: ${this.ids.join(', ')} }`
  }
}

/**
 * Parses FICUS_CAPTURE_KEYS. FICUS_ERR_CAPTURE_KEY_MISSING when it is unset or empty;
 * FICUS_ERR_CAPTURE_KEY_INVALID naming the entry's position (1-based) and what is wrong with it —
 * never the key, nor an id that may be one.
 */
export function parseCaptureKeys(value: string | undefined): CaptureKeys {
  const text = value?.trim() ?? ''
  if (text === '')
    throw fail.captureKeyMissing(
      `${CAPTURE_KEYS_ENV} is not set: captures are only kept encrypted; set it to <keyId>:<base64 of ${CAPTURE_KEY_BYTES} random bytes>`,
      { details: { variable: CAPTURE_KEYS_ENV } },
    )
  const entries: { id: string; key: Buffer }[] = []
  text.split(',').forEach((raw, index) => {
    const invalid = (problem: string): Error =>
      fail.captureKeyInvalid(`${CAPTURE_KEYS_ENV} entry ${index + 1}: ${problem}`, { details: { variable: CAPTURE_KEYS_ENV, entry: index + 1 } })
    const entry = raw.trim()
    const colon = entry.indexOf(':')
    if (colon < 0) throw invalid('must be <keyId>:<base64 key> (no ":" found)')
    const id = entry.slice(0, colon)
    const encoded = entry.slice(colon + 1)
    if (!KEY_ID.test(id)) throw invalid('the key id must be 1 to 64 letters, digits, ".", "_" or "-"')
    const taken = entries.findIndex((other) => other.id === id)
    if (taken >= 0) throw invalid(`key id ${id} is already used by entry ${taken + 1}`)
    const key = Buffer.from(encoded, 'base64')
    if (!BASE64.test(encoded) || key.toString('base64') !== encoded) throw invalid('the key is not valid base64')
    if (key.length !== CAPTURE_KEY_BYTES) throw invalid(`the key is ${key.length} bytes; it must be exactly ${CAPTURE_KEY_BYTES} (AES-256)`)
    entries.push({ id, key })
  })
  return new CaptureKeys(entries)
}
