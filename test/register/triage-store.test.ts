import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileTriageStore } from '../../src/register/triage-store.ts'
import { capturingLogger } from '../helpers/logs.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-triage-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function opened() {
  const { logger, lines } = capturingLogger()
  const store = new FileTriageStore(join(dir, 'triage.jsonl'), 'test', logger)
  await store.open()
  return { store, lines }
}

describe('the embedded triage store', () => {
  it('keeps an acknowledged action after a crash tore the line before it', async () => {
    const first = await opened()
    await first.store.act({ signature: 'sig', action: 'assign', assignee: 'bo', actor: 'ana', reason: 'looking' })
    await first.store.close()
    // A crash in the middle of writing the next line: never acknowledged.
    await appendFile(join(dir, 'triage.jsonl'), '{"id":"torn","signature":"sig","act')

    const second = await opened()
    expect(second.lines.some((line) => String(line.msg).startsWith('triage log ended in a torn line'))).toBe(true)
    await second.store.act({ signature: 'sig', action: 'wont-fix', actor: 'ana', reason: 'acknowledged after the crash' })
    await second.store.close()

    const third = await opened()
    expect((await third.store.statuses(['sig'])).get('sig')).toMatchObject({ state: 'wont-fix', reason: 'acknowledged after the crash' })
    expect((await third.store.history({ signature: 'sig', limit: 10 })).map((record) => record.action)).toEqual(['wont-fix', 'assign'])
    expect((await readFile(join(dir, 'triage.jsonl'), 'utf8')).endsWith('\n')).toBe(true)
    expect(third.lines.some((line) => line.level === 50)).toBe(false)
  })

  it('says how many lines it could not read, instead of skipping them silently', async () => {
    await appendFile(join(dir, 'triage.jsonl'), 'not json\n')
    const { lines } = await opened()
    expect(lines.find((line) => String(line.msg).startsWith('triage log has lines that cannot be read'))).toMatchObject({ lines: 1 })
  })
})
