import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../src/errors/errors.ts'

describe('error codes', () => {
  const documented = [...readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8').matchAll(/^### (FICUS_ERR_[A-Z_]+)$/gm)].map((match) => match[1])

  it('lists every code of src/errors/errors.ts in docs/errors.md, and nothing else', () => {
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort())
  })

  it('documents the HTTP status of every code that has one', () => {
    const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      if (status === undefined) continue
      const section = text.split(`### ${code}\n`)[1]?.split('\n### ')[0] ?? ''
      expect(section, code).toMatch(new RegExp(`HTTP (${status}|${String(status)[0]}xx)`))
    }
  })
})
