import { describe, expect, it } from 'vitest'
import { diffJson } from '../../src/compare/json-diff.ts'

describe('JSON diff', () => {
  it('finds added, removed, changed and type differences with JSON-pointer paths', () => {
    const { entries, truncated } = diffJson(
      { a: 1, b: { c: 'x', 'd/e': true }, gone: 1, t: '1', list: [1, 2] },
      { a: 2, b: { c: 'x', 'd/e': false }, t: 1, extra: null, list: [1, 2, 3] },
    )
    expect(truncated).toBe(false)
    expect(entries).toEqual([
      { path: '/a', kind: 'changed', legacy: 1, modern: 2 },
      { path: '/b/d~1e', kind: 'changed', legacy: true, modern: false },
      { path: '/gone', kind: 'removed', legacy: 1 },
      { path: '/t', kind: 'type', legacy: '1', modern: 1 },
      { path: '/list/2', kind: 'added', modern: 3 },
      { path: '/extra', kind: 'added', modern: null },
    ])
  })

  it('is empty for equal values', () => {
    expect(diffJson({ a: [1, { b: null }] }, { a: [1, { b: null }] }).entries).toEqual([])
  })

  it('skips ignored subtrees, with * wildcards', () => {
    const { entries } = diffJson(
      { asOf: 1, items: [{ id: 1, at: 'x' }], meta: { trace: 1 } },
      { asOf: 2, items: [{ id: 1, at: 'y' }], meta: { trace: 2, added: 1 } },
      { ignore: ['/asOf', '/items/*/at', '/meta'] },
    )
    expect(entries).toEqual([])
  })

  it('applies a numeric tolerance', () => {
    expect(diffJson({ amount: 10.001 }, { amount: 10 }, { numericTolerance: 0.01 }).entries).toEqual([])
    expect(diffJson({ amount: 10.1 }, { amount: 10 }, { numericTolerance: 0.01 }).entries).toHaveLength(1)
  })

  it('applies a timestamp tolerance to ISO timestamps', () => {
    expect(diffJson({ at: '2026-11-23T10:00:00.000Z' }, { at: '2026-11-23T10:00:00.900Z' }, { timestampToleranceMs: 1000 }).entries).toEqual([])
    expect(diffJson({ at: '2026-11-23T10:00:00.000Z' }, { at: '2026-11-23T10:00:02.000Z' }, { timestampToleranceMs: 1000 }).entries).toHaveLength(1)
  })

  it('compares unordered arrays as sets, by content or by a key field', () => {
    expect(diffJson({ tags: ['a', 'b', 'b'] }, { tags: ['b', 'a', 'b'] }, { unorderedArrays: [{ path: '/tags' }] }).entries).toEqual([])
    expect(diffJson({ tags: ['a', 'b'] }, { tags: ['b', 'c'] }, { unorderedArrays: [{ path: '/tags' }] }).entries).toEqual([
      { path: '/tags/0', kind: 'removed', legacy: 'a' },
      { path: '/tags/1', kind: 'added', modern: 'c' },
    ])
    const keyed = diffJson(
      {
        claims: [
          { id: 'C-1', amount: 10 },
          { id: 'C-2', amount: 20 },
        ],
      },
      {
        claims: [
          { id: 'C-2', amount: 25 },
          { id: 'C-1', amount: 10 },
        ],
      },
      { unorderedArrays: [{ path: '/claims', key: 'id' }] },
    )
    expect(keyed.entries).toEqual([{ path: '/claims/1/amount', kind: 'changed', legacy: 20, modern: 25 }])
  })

  it('stops at maxEntries and says so', () => {
    const a = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]))
    const result = diffJson(a, {}, { maxEntries: 3 })
    expect(result.entries).toHaveLength(3)
    expect(result.truncated).toBe(true)
  })
})
