import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Outbox } from '../../src/publish/outbox.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-outbox-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function opened(options: { maxBytes?: number; segmentBytes?: number } = {}): Promise<Outbox> {
  const outbox = new Outbox({ dir, ...options })
  await outbox.open()
  return outbox
}

const lines = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => JSON.stringify({ n: from + i, pad: 'p'.repeat(40) }))

describe('outbox', () => {
  it('gives lines back in order, across segments, and only lets go of them on ack', async () => {
    const outbox = await opened({ segmentBytes: 500 })
    expect(outbox.append(lines(0, 30))).toBe(30)
    expect((await readdir(dir)).filter((name) => name.startsWith('segment-')).length).toBeGreaterThan(1)
    const first = await outbox.peek(12)
    expect(first.lines).toEqual(lines(0, 12))
    expect((await outbox.peek(12)).lines).toEqual(lines(0, 12))
    await outbox.ack(first.next)
    const rest = await outbox.peek(100)
    expect(rest.lines).toEqual(lines(12, 30))
    await outbox.ack(rest.next)
    expect(outbox.isEmpty).toBe(true)
    expect((await readdir(dir)).filter((name) => name.startsWith('segment-'))).toEqual([])
  })

  it('survives a restart: what was not acknowledged is still there, what was is gone', async () => {
    const outbox = await opened({ segmentBytes: 400 })
    outbox.append(lines(0, 20))
    const batch = await outbox.peek(7)
    await outbox.ack(batch.next)
    outbox.append(lines(20, 25))
    const reopened = await opened({ segmentBytes: 400 })
    expect((await reopened.peek(100)).lines).toEqual(lines(7, 25))
  })

  it('refuses lines beyond its size bound and says how many it took', async () => {
    const outbox = await opened({ maxBytes: 1_000 })
    const taken = outbox.append(lines(0, 100))
    expect(taken).toBeGreaterThan(0)
    expect(taken).toBeLessThan(100)
    expect(outbox.bytes).toBeLessThanOrEqual(1_000)
    expect((await outbox.peek(1_000)).lines).toEqual(lines(0, taken))
  })

  it('appends after everything was delivered and keeps going', async () => {
    const outbox = await opened()
    outbox.append(lines(0, 3))
    await outbox.ack((await outbox.peek(10)).next)
    outbox.append(lines(3, 5))
    expect((await outbox.peek(10)).lines).toEqual(lines(3, 5))
    const reopened = await opened()
    expect((await reopened.peek(10)).lines).toEqual(lines(3, 5))
  })
})
