import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, fail, FicusError, type ErrorCode } from '../src/errors/errors.ts'
import { ROOT } from './helpers/processes.ts'

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

  it('has one factory per code in the errors module, and the code is written nowhere else in src/', () => {
    const made = Object.values(fail).map((factory) => factory('message'))
    expect(made.every((error) => error instanceof FicusError)).toBe(true)
    expect(made.map((error) => error.code).sort()).toEqual((Object.keys(ERROR_CODES) as ErrorCode[]).sort())
    const spelled: string[] = []
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (
          entry.name.endsWith('.ts') &&
          path !== join(ROOT, 'src', 'errors', 'errors.ts') &&
          /new FicusError\(\s*'FICUS_ERR_/.test(readFileSync(path, 'utf8'))
        )
          spelled.push(path)
      }
    }
    walk(join(ROOT, 'src'))
    expect(spelled).toEqual([])
  })
})
