import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DISCREPANCIES_FILE, TRIAGE_FILE } from '../../src/app/data-dir.ts'
import { readStoredTriage } from '../../src/app/triage-stores.ts'

// `ficus report --data-dir` may read a running gateway's data directory: it must never change it.
describe('the triage a report reads from a data directory', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-stored-triage-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('skips a triage line being appended without cutting it off the file', async () => {
    const action = { id: 'a1', signature: 'abc', action: 'assign', actor: 'x', reason: 'r', assignee: 'y', at: new Date().toISOString(), instance: 'gw' }
    const text = `${JSON.stringify(action)}\n{"id":"a2","signa`
    await writeFile(join(dir, TRIAGE_FILE), text)
    const triage = await readStoredTriage({ redisUrl: undefined, redisPrefix: 'ficus:', dataDir: dir })
    expect(triage('any').available).toBe(true)
    expect(await readFile(join(dir, TRIAGE_FILE), 'utf8')).toBe(text)
  })

  it('says the register is unreadable instead of moving the gateway’s file aside or writing it back', async () => {
    await writeFile(join(dir, DISCREPANCIES_FILE), '{"version":1,"entries":[{"id":')
    const triage = await readStoredTriage({ redisUrl: undefined, redisPrefix: 'ficus:', dataDir: dir })
    expect(triage('any')).toMatchObject({ available: false, reason: expect.stringContaining('could not be read') as unknown })
    expect(await readFile(join(dir, DISCREPANCIES_FILE), 'utf8')).toBe('{"version":1,"entries":[{"id":')
  })
})
