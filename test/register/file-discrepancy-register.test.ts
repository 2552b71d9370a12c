import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { DistinctCount } from '../../src/register/distinct-count.ts'
import { FileDiscrepancyRegister } from '../../src/register/file-discrepancy-register.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { capturingLogger } from '../helpers/logs.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-register-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const conflict = (path: string, at: number, entity: string | null, requestId = `r-${path}-${at}`): Comparison => ({
  ...comparison({ category: 'body-mismatch', diffPaths: [path], eventTime: new Date(Date.UTC(2026, 10, 1) + at * 60_000), requestId }),
  entityKey: entity,
})

async function opened(options: { maxSignatures?: number } = {}) {
  const { logger, lines } = capturingLogger()
  const register = new FileDiscrepancyRegister({ file: join(dir, 'discrepancies.json'), logger, persistIntervalMs: 60_000, ...options })
  await register.open()
  return { register, lines }
}

describe('the embedded discrepancy register', () => {
  it('counts, dates, entities and newest examples per signature, and lists the newest first', async () => {
    const { register } = await opened()
    for (let i = 0; i < 12; i++) register.record(conflict('/body/total', i, `e${i % 4}`))
    register.record(conflict('/body/sum', 20, null))
    register.record(comparison({ category: 'match' }))
    const [sum, total] = await register.list({ limit: 10 })
    expect(sum).toMatchObject({ paths: ['/body/sum'], count: 1, entities: 0 })
    expect(total).toMatchObject({ paths: ['/body/total'], count: 12, entities: 4, firstSeen: '2026-11-01T00:00:00.000Z', lastSeen: '2026-11-01T00:11:00.000Z' })
    expect(total?.examples).toEqual(['r-/body/total-11', 'r-/body/total-10', 'r-/body/total-9', 'r-/body/total-8', 'r-/body/total-7'])
    expect(await register.get(total!.id)).toEqual(total)
    expect(await register.list({ limit: 10, family: 'translation-defect' })).toEqual([])
    expect(register.stats()).toEqual({ signatures: 2, recorded: 13, evicted: 0 })
    await register.close()
  })

  it('stays within its bound by dropping the signature seen least recently', async () => {
    const { register } = await opened({ maxSignatures: 3 })
    register.record(conflict('/body/a', 0, null))
    register.record(conflict('/body/b', 1, null))
    register.record(conflict('/body/c', 2, null))
    register.record(conflict('/body/a', 3, null)) // a is recent again
    register.record(conflict('/body/d', 4, null)) // b makes room
    expect((await register.list({ limit: 10 })).map((entry) => entry.paths[0])).toEqual(['/body/d', '/body/a', '/body/c'])
    expect(register.stats().evicted).toBe(1)
    await register.close()
  })

  it('is there again after a restart, and a file it cannot read is moved aside, never a crash', async () => {
    const first = await opened()
    for (let i = 0; i < 5; i++) first.register.record(conflict('/body/total', i, `e${i}`))
    await first.register.close()
    const second = await opened()
    expect(await second.register.list({ limit: 10 })).toMatchObject([{ count: 5, entities: 5 }])
    second.register.record(conflict('/body/total', 9, 'e0'))
    await second.register.close()
    const third = await opened()
    expect(await third.register.list({ limit: 10 })).toMatchObject([{ count: 6, entities: 5, lastSeen: '2026-11-01T00:09:00.000Z' }])
    await third.register.close()

    // A directory where the file should be: set aside too, never a failed start.
    await rm(join(dir, 'discrepancies.json'))
    await mkdir(join(dir, 'discrepancies.json'))
    const blocked = await opened()
    expect(await blocked.register.list({ limit: 10 })).toEqual([])
    expect(blocked.lines.some((line) => String(line.msg).startsWith('discrepancy register file unreadable'))).toBe(true)
    await blocked.register.close()
    await rm(join(dir, 'discrepancies.json'), { recursive: true, force: true })

    await writeFile(join(dir, 'discrepancies.json'), '{"version":1,"entries":[{"id":')
    const broken = await opened()
    expect(await broken.register.list({ limit: 10 })).toEqual([])
    expect(broken.lines.some((line) => String(line.msg).startsWith('discrepancy register file unreadable'))).toBe(true)
    expect((await readdir(dir)).some((name) => name.startsWith('discrepancies.json.unreadable-'))).toBe(true)
    broken.register.record(conflict('/body/x', 0, null))
    await broken.register.close()
    expect(JSON.parse(await readFile(join(dir, 'discrepancies.json'), 'utf8'))).toMatchObject({ version: 1, entries: [{ paths: ['/body/x'] }] })
  })
})

describe('distinct counts', () => {
  it('are exact up to 64 values and within 15 % for thousands, and survive a round trip', () => {
    const small = new DistinctCount()
    for (let i = 0; i < 100; i++) small.add(`entity-${i % 64}`)
    expect(small.count()).toBe(64)
    expect(DistinctCount.fromBase64(small.toBase64()).count()).toBe(64)
    const large = new DistinctCount()
    for (let i = 0; i < 20_000; i++) large.add(`entity-${i}`)
    expect(Math.abs(large.count() - 20_000) / 20_000).toBeLessThan(0.15)
    expect(DistinctCount.fromBase64(large.toBase64()).count()).toBe(large.count())
  })
})
