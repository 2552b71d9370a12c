import type { CapturedPair } from './captured-pair.ts'
import type { CaptureKeys } from './capture-keys.ts'

/** Version of the envelope (what is in clear around the encrypted pair). */
export const CAPTURE_ENVELOPE_VERSION = 1

/**
 * One captured pair at rest: a line of a data-directory segment, or a message value on the captures
 * topic. In clear only what is needed to find, expire and decrypt it — never anything of the bodies,
 * request ids or entity keys, which are inside `data`.
 */
export interface CaptureEnvelope {
  readonly v: typeof CAPTURE_ENVELOPE_VERSION
  /** The id of the key it is encrypted with. */
  readonly kid: string
  readonly slice: string
  /** ISO 8601, UTC. */
  readonly capturedAt: string
  /** 12 bytes, base64. */
  readonly iv: string
  /** AES-256-GCM ciphertext of the pair's JSON followed by the 16-byte tag, base64. */
  readonly data: string
}

/** Why an envelope could not be opened. */
export type UnreadableCause = 'unknown-key' | 'authentication-failed' | 'malformed'

export type OpenedEnvelope =
  { readonly ok: true; readonly pair: CapturedPair } | { readonly ok: false; readonly cause: UnreadableCause; readonly kid: string | null }

/**
 * The additional authenticated data: the format version, key id, slice and capture time. A record
 * moved to another slice, re-dated or relabelled with another key id no longer authenticates.
 */
function aad(version: number, kid: string, slice: string, capturedAt: string): Buffer {
  return Buffer.from(JSON.stringify(['ficus-capture', version, kid, slice, capturedAt]), 'utf8')
}

/** Encrypts a pair with the current key into its envelope. */
export function sealPair(pair: CapturedPair, keys: CaptureKeys): CaptureEnvelope {
  const kid = keys.current
  const sealed = keys.seal(Buffer.from(JSON.stringify(pair), 'utf8'), aad(CAPTURE_ENVELOPE_VERSION, kid, pair.slice, pair.capturedAt))
  return {
    v: CAPTURE_ENVELOPE_VERSION,
    kid,
    slice: pair.slice,
    capturedAt: pair.capturedAt,
    iv: sealed.iv.toString('base64'),
    data: sealed.data.toString('base64'),
  }
}

/** Reads an envelope's clear fields from one line (or message value); undefined when it is not one. */
export function parseEnvelope(text: string): CaptureEnvelope | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const envelope = value as Record<string, unknown>
  const strings = ['kid', 'slice', 'capturedAt', 'iv', 'data'] as const
  if (envelope.v !== CAPTURE_ENVELOPE_VERSION || strings.some((field) => typeof envelope[field] !== 'string')) return undefined
  if (Number.isNaN(Date.parse(envelope.capturedAt as string))) return undefined
  return value as CaptureEnvelope
}

/**
 * Decrypts an envelope read for `slice` (the slice whose file or key it was found under — not the
 * one it claims): a record of another slice fails authentication. The pair inside must agree with
 * the authenticated slice and time.
 */
export function openEnvelope(envelope: CaptureEnvelope, slice: string, keys: CaptureKeys): OpenedEnvelope {
  if (!keys.has(envelope.kid)) return { ok: false, cause: 'unknown-key', kid: envelope.kid }
  let plaintext: Buffer
  try {
    const sealed = { iv: Buffer.from(envelope.iv, 'base64'), data: Buffer.from(envelope.data, 'base64') }
    plaintext = keys.open(envelope.kid, sealed, aad(envelope.v, envelope.kid, slice, envelope.capturedAt))
  } catch {
    return { ok: false, cause: 'authentication-failed', kid: envelope.kid }
  }
  try {
    const pair = JSON.parse(plaintext.toString('utf8')) as CapturedPair
    if (pair.slice !== slice || pair.capturedAt !== envelope.capturedAt) return { ok: false, cause: 'malformed', kid: envelope.kid }
    return { ok: true, pair }
  } catch {
    return { ok: false, cause: 'malformed', kid: envelope.kid }
  }
}
