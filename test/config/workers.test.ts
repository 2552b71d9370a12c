import { describe, expect, it } from 'vitest'
import { parseWorkers, resolveWorkers } from '../../src/config/workers.ts'
import { workerFiles } from '../../src/report/sources/jsonl-source.ts'

describe('the number of workers', () => {
  it('is a whole number from 1 to 256 or auto', () => {
    expect(parseWorkers('1')).toBe(1)
    expect(parseWorkers('256')).toBe(256)
    expect(parseWorkers('auto')).toBe('auto')
    for (const bad of ['0', '257', '-1', '1.5', '2x', '', 'AUTO', ' 2']) expect(parseWorkers(bad), bad).toBeUndefined()
  })

  it('auto is the available cores, at least one', () => {
    expect(resolveWorkers('auto', 8)).toBe(8)
    expect(resolveWorkers('auto', 0)).toBe(1)
    expect(resolveWorkers(3, 8)).toBe(3)
  })
})

describe("a worker's comparison files", () => {
  const names = [
    'comparisons.jsonl',
    'comparisons-20261207-1.jsonl',
    'comparisons-replay.jsonl',
    'comparisons-w2.jsonl',
    'comparisons-w2-20261207-1.jsonl',
    'comparisons-w3.jsonl',
  ]

  it('are its own for a rank above 1, and every other file for worker 1 (ranks no longer running included)', () => {
    expect(names.filter(workerFiles(2, 2))).toEqual(['comparisons-w2.jsonl', 'comparisons-w2-20261207-1.jsonl'])
    expect(names.filter(workerFiles(1, 2))).toEqual(['comparisons.jsonl', 'comparisons-20261207-1.jsonl', 'comparisons-replay.jsonl', 'comparisons-w3.jsonl'])
    expect(names.filter(workerFiles(3, 3))).toEqual(['comparisons-w3.jsonl'])
  })
})
