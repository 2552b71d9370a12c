import { describe, expect, it } from 'vitest'
import { checkWorkersConfig, restartDelay } from '../../src/app/cluster-primary.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { parseWorkers, resolveWorkers } from '../../src/config/workers.ts'
import { sampleConfig } from '../helpers/gateway.ts'
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

describe('the primary of --workers', () => {
  it('waits longer before each replacement of a worker that keeps dying, up to 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(restartDelay)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
  })

  it('refuses several workers sharing the data directory’s captured pairs, naming the slices and the way out', () => {
    const input = sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2')
    input.slices['policy-status']!.shadow = {}
    input.slices['policy-status']!.capture = {}
    const config = validateConfig(input)
    expect(() => checkWorkersConfig(config, 1, 'routes.config.ts')).not.toThrow()
    let refused: unknown
    try {
      checkWorkersConfig(config, 2, 'routes.config.ts')
    } catch (err) {
      refused = err
    }
    expect(refused).toMatchObject({ code: 'FICUS_ERR_CONFIG_INVALID' })
    expect((refused as Error).message).toContain("gateway.workers: 2 workers cannot share the data directory's captured pairs (slices policy-status capture")
    expect(() => checkWorkersConfig(validateConfig({ ...input, capture: { store: 'kafka' } }), 2, 'routes.config.ts')).not.toThrow()
  })
})
