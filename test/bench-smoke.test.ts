import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnNode } from './helpers/processes.ts'

// Benchmarks are not tests (figures on a shared machine flake); this only proves the harness runs.
describe('bench harness', () => {
  it('runs a one-second smoke pass and writes its results', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ficus-bench-smoke-'))
    try {
      const result = await spawnNode(['--import', 'tsx', 'bench/run.ts', '--smoke', '--out-dir', out]).finished
      expect(result.code, result.stderr).toBe(0)
      const json = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as {
        rows: { scenario: string; rps: number; errors: number; cpuUsPerRequest: number | null; youngGcUsPerRequest: number | null }[]
      }
      expect(json.rows.map((row) => row.scenario)).toEqual([
        'direct',
        'bare-proxy',
        'ficus-routing',
        'ficus-shadow-jsonl',
        'ficus-routing-2w',
        'ficus-shadow-jsonl-2w',
      ])
      for (const row of json.rows) {
        expect(row.rps, row.scenario).toBeGreaterThan(0)
        expect(row.errors, row.scenario).toBe(0)
      }
      for (const name of ['ficus-routing', 'ficus-routing-2w']) expect(json.rows.find((row) => row.scenario === name)?.cpuUsPerRequest, name).toBeGreaterThan(0)
      // Young-collection time comes from Ficus's own /metrics (also aggregated over workers); the bare proxy has none.
      for (const row of json.rows) expect(row.youngGcUsPerRequest === null, row.scenario).toBe(!row.scenario.startsWith('ficus-'))
      expect(await readFile(join(out, 'latest.md'), 'utf8')).toContain('| ficus-shadow-jsonl | small |')
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  }, 120_000)
})
