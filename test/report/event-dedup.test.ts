import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { EventDedup, fingerprintOf } from '../../src/report/event-dedup.ts'

describe('EventDedup', () => {
  it('counts every redelivery among 200 000 ids once, and nothing else', () => {
    const dedup = new EventDedup()
    const ids = Array.from({ length: 200_000 }, () => randomUUID())
    let first = 0
    for (const id of ids) if (dedup.first(id)) first += 1
    for (let i = 0; i < ids.length; i += 97) expect(dedup.first(ids[i] as string)).toBe(false)
    expect(first).toBe(ids.length)
    expect(dedup.duplicates).toBe(Math.ceil(ids.length / 97))
  })

  it('tells ids apart that are not UUIDs, the empty one and upper-case hex', () => {
    const dedup = new EventDedup()
    for (const id of ['', 'a', 'b', 'event-1', 'event-2', 'E2A9F6C0-1B3D-4E5F-8A7B-9C0D1E2F3A4B', '0000000000001']) expect(dedup.first(id)).toBe(true)
    expect(dedup.first('e2a9f6c0-1b3d-4e5f-8a7b-9c0d1e2f3a4b')).toBe(false)
    expect(dedup.first('event-2')).toBe(false)
    expect(dedup.first('')).toBe(false)
    expect(dedup.duplicates).toBe(3)
  })

  it('fingerprints a UUID by its last 13 hex digits, whatever separates them', () => {
    expect(fingerprintOf('e2a9f6c0-1b3d-4e5f-8a7b-9c0d1e2f3a4b')).toBe(Number.parseInt('b9c0d1e2f3a4b', 16))
    expect(fingerprintOf('x:9c0d1e2f3a4b7')).toBe(fingerprintOf('9c0d1e2f3a4b7'))
  })

  it('always knows the last `capacity` ids and forgets those older than twice that', () => {
    const dedup = new EventDedup(1_000)
    const ids = Array.from({ length: 5_500 }, () => randomUUID())
    for (const id of ids) dedup.first(id)
    for (const id of ids.slice(-1_000)) expect(dedup.first(id)).toBe(false)
    for (const id of ids.slice(0, 3_000)) expect(dedup.first(id)).toBe(true)
  })
})
