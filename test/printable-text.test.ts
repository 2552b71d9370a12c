import { describe, expect, it } from 'vitest'
import { printable } from '../src/text/printable-text.ts'

// Every C0 and C1 control, DEL and every bidi control (Trojan Source, CVE-2021-42574).
const CONTROLS = /\p{Cc}|\p{Bidi_Control}|[\u2028\u2029]/u

describe('printable', () => {
  it('leaves ordinary text alone, including non-Latin letters and emoji', () => {
    for (const text of ['start the rollout', 'ana@platform', 'Ärger über “Preise” — 25 %', 'سياسة', '政策', '🚀 go']) expect(printable(text)).toBe(text)
  })

  it('escapes terminal escape sequences visibly', () => {
    expect(printable('ok\u001b[2J\u001b]0;pwned\u0007')).toBe('ok\\u001b[2J\\u001b]0;pwned\\u0007')
  })

  it('escapes carriage returns, newlines and tabs the way JSON writes them', () => {
    expect(printable('all good\rFORGED\nline\ttab')).toBe('all good\\rFORGED\\nline\\ttab')
  })

  it('escapes DEL and C1 controls (CSI as one byte)', () => {
    expect(printable('a\u007fb\u009b31mc\u0085d')).toBe('a\\u007fb\\u009b31mc\\u0085d')
  })

  it('escapes bidi overrides, embeddings, isolates and marks', () => {
    expect(printable('invoice\u202Egnp.exe')).toBe('invoice\\u202egnp.exe')
    expect(printable('\u2066x\u2069\u202a\u200f\u061c')).toBe('\\u2066x\\u2069\\u202a\\u200f\\u061c')
  })

  it('leaves no control character in any string', () => {
    let all = ''
    for (let code = 0; code <= 0x206f; code++) all += String.fromCodePoint(code)
    expect(CONTROLS.test(printable(all))).toBe(false)
  })
})
