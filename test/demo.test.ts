import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnNode } from './helpers/processes.ts'

describe('npm run demo -- --once', () => {
  it('routes the sample traffic to both sides, prints what went where and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ficus-demo-'))
    try {
      const result = await spawnNode(['--import', 'tsx', 'examples/demo.ts', '--once'], { PORT: '0', FICUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }).finished
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/GET \/pas\/v1\/policy\/P-1001\/status\s+coverage-status\s+legacy\s+legacy-pas\s+200/)
      expect(result.stdout).toMatch(/GET \/pas\/v1\/billing\/P-1001\/eligibility\s+billing-eligibility\s+modern\s+billing-context\s+200/)
      expect(result.stdout).toMatch(/GET \/pas\/v1\/agents\/A-77\s+\(fallthrough\)\s+legacy\s+legacy-pas\s+200/)
      expect(result.stdout).toMatch(/legacy answered [1-9]\d* request\(s\), modern answered [1-9]\d*/)
      // Every category the example services produce, and the report with its verdicts.
      for (const verdict of ['noise', 'untranslated (PNDC)', 'timing-lag', 'body-mismatch (/body/eligible)', 'match']) expect(result.stdout).toContain(verdict)
      expect(result.stdout).toContain('Ficus shadow-run report')
      expect(result.stdout).toMatch(/^coverage-status {2}NOT READY/m)
      expect(result.stdout).toContain('untranslated: /body/status = PNDC')
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
