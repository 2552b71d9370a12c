import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CUSTOMER_COUNT, customerRound } from '../examples/example-clients.ts'
import { spawnNode } from './helpers/processes.ts'

let demoDir: string
beforeEach(async () => {
  demoDir = join(await mkdtemp(join(tmpdir(), 'ficus-demo-')), 'demo')
})
afterEach(async () => {
  await rm(join(demoDir, '..'), { recursive: true, force: true })
})

describe('npm run demo -- --once', () => {
  it('routes the sample traffic to both sides, prints what went where and exits 0', async () => {
    const result = await spawnNode(['--import', 'tsx', 'examples/demo.ts', '--once'], { PORT: '0', FICUS_DEMO_DIR: demoDir, LOG_LEVEL: undefined }).finished
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    // What a newcomer sees first is a sentence, not a JSON log line; then where the state is.
    const [first, second] = result.stdout.split('\n')
    expect(first).toMatch(/^Ficus demo: /)
    expect(second).toBe(`State: ${demoDir} (cleared at every start).`)
    expect(result.stdout).not.toMatch(/^\{/m)
    expect(result.stdout).toMatch(/GET \/pas\/v1\/policy\/P-1001\/status\s+coverage-status\s+legacy\s+legacy-pas\s+200/)
    expect(result.stdout).toMatch(/GET \/pas\/v1\/billing\/P-1001\/eligibility\s+billing-eligibility\s+modern\s+billing-context\s+200/)
    expect(result.stdout).toMatch(/GET \/pas\/v1\/agents\/A-77\s+\(fallthrough\)\s+legacy\s+legacy-pas\s+200/)
    expect(result.stdout).toMatch(/legacy answered [1-9]\d* request\(s\), modern answered [1-9]\d*/)
    // Every category the example services produce, and the report with its verdicts.
    // Each story policy's row shows its own family (the README lists them).
    expect(result.stdout).toMatch(/P-1001\/status .*noise \(\/body\/asOf\)/)
    expect(result.stdout).toMatch(/P-1004\/status .*translation-defect \(PNDC\)/)
    expect(result.stdout).toMatch(/P-1005\/status .*timing-lag \(converged after \d+ ms\)/)
    expect(result.stdout).toMatch(/P-1007\/status .*source-data-defect \(range \/body\/premium\/amount\)/)
    expect(result.stdout).toMatch(/P-1008\/status .*not-compared \(over-capture-cap\)/)
    expect(result.stdout).toMatch(/P-1006\/eligibility .*genuine-conflict \(\/body\/eligible\)/)
    expect(result.stdout).toMatch(/P-1003\/claims\/lodgement-check\S* .*match/)
    expect(result.stdout).toMatch(/^ {2}coverage-status\s+legacy 200\s+modern\s+0/m)
    expect(result.stdout).toMatch(/^ {2}billing-eligibility\s+legacy\s+0\s+modern 200/m)
    expect(result.stdout).toContain('Ficus shadow-run report')
    expect(result.stdout).toMatch(/^coverage-status {2}NOT READY/m)
    expect(result.stdout).toContain('untranslated: /body/status = PNDC')
    // A context keyed by new ids, shadowed through the identity map; an id it lacks is never a conflict.
    expect(result.stdout).toMatch(/GET \/pas\/v1\/claims\/C-4002\s+claim-status\s+legacy\s+legacy-pas\s+200\s+match/)
    expect(result.stdout).toMatch(/GET \/pas\/v1\/claims\/C-4004\s+claim-status\s+legacy\s+legacy-pas\s+200\s+not-compared \(missing-identity\)/)
    // The teams' triage decisions, taken through the admin API.
    expect(result.stdout).toMatch(/[0-9a-f]{16} {2}billing-eligibility genuine-conflict on \/body\/eligible: accepted as intended/)
    expect(result.stdout).toMatch(/[0-9a-f]{16} {2}coverage-status source-data-defect on \/body\/premium\/amount \(range\): marked a legacy data defect/)
    // The report shows the register as triaged: the accepted conflict set apart, with its reason and approver.
    expect(result.stdout).toMatch(/disagreement 0, accepted \d+ /)
    expect(result.stdout).toMatch(/accepted: [0-9a-f]{16} genuine-conflict GET \/pas\/v1\/billing\/:policyNumber\/eligibility .*approved by head of billing/)
    // A reconciliation run over every example policy, judged like live traffic; its threshold broken (PNDC, the lag, the conflict).
    expect(result.stdout).toMatch(/^reconciliation run demo-[0-9a-f]{6} \(finished\)$/m)
    expect(result.stdout).toMatch(/^keys\s+8 of 8 asked from examples\/reconcile-keys\.txt$/m)
    expect(result.stdout).toMatch(/^families\s+.*translation-defect 1/m)
    expect(result.stdout).toMatch(/^agreement\s+[\d.]+% of \d+ compared; minimum 95%: BROKEN$/m)
    // The candidate's PNDC fix over the captured pairs: the untranslated code is gone, only the noise (asOf) remains.
    expect(result.stdout).toMatch(/^rules: candidate config examples\/candidate-config\.ts .*translation coverage-status\/4\)$/m)
    expect(result.stdout).toMatch(/^translation-defect\s+[1-9]\d*\s+0$/m)
    expect(result.stdout).toMatch(/^translation-defect\/untranslated\s+noise\/noise\s+[1-9]\d*\s+\S+/m)
    expect(result.stdout).toMatch(/^disappears\s+[0-9a-f]{16}\s+translation-defect\s+.*\/body\/status = "PNDC"/m)
    // The report counts the run's comparisons beside live traffic.
    expect(result.stdout).toMatch(/from live traffic \d+, reconciliation runs 8, replays 0/)
  })

  it('starts from a clean state every time, and never clears a folder it did not make', async () => {
    const first = await spawnNode(['--import', 'tsx', 'examples/demo.ts', '--once'], { PORT: '0', FICUS_DEMO_DIR: demoDir }).finished
    expect(first.code).toBe(0)
    // What following the README leaves behind (a flip in the embedded store) is gone next time.
    await writeFile(join(demoDir, 'authority.json'), '{ "left": "over" }')
    const second = await spawnNode(['--import', 'tsx', 'examples/demo.ts', '--once'], { PORT: '0', FICUS_DEMO_DIR: demoDir }).finished
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/^ {2}coverage-status\s+legacy 200\s+modern\s+0/m)

    const foreign = await mkdtemp(join(tmpdir(), 'ficus-not-demo-'))
    try {
      await writeFile(join(foreign, 'important.txt'), 'keep me')
      const refused = await spawnNode(['--import', 'tsx', 'examples/demo.ts', '--once'], { PORT: '0', FICUS_DEMO_DIR: foreign }).finished
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('holds files the demo did not write')
      expect(await readFile(join(foreign, 'important.txt'), 'utf8')).toBe('keep me')
    } finally {
      await rm(foreign, { recursive: true, force: true })
    }
  })
})

describe('npm run demo, then ficus flip coverage-status 25%', () => {
  it('moves about a quarter of the example customers to modern, the same ones every time', async () => {
    const demo = spawnNode(['--import', 'tsx', 'examples/demo.ts'], { PORT: '0', ADMIN_PORT: '0', FICUS_DEMO_DIR: demoDir })
    try {
      const urls = await new Promise<{ gateway: string; admin: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the demo did not say where it runs: ${demo.stdout()}`)), 30_000)
        const look = (): void => {
          const found = /keeps running on (http:\/\/\S+) \(admin API and dashboard (http:\/\/\S+)\)/.exec(demo.stdout())
          if (found) {
            clearTimeout(timer)
            resolve({ gateway: found[1]!, admin: found[2]! })
          }
        }
        demo.child.stdout?.on('data', look)
        look()
      })
      const flip = await fetch(`${urls.admin}/admin/slices/coverage-status/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-ficus-actor': 'demo-test' },
        body: JSON.stringify({ authority: '25%', reason: 'demo rollout', force: true }),
      })
      expect(flip.status).toBe(200)

      const first = (await customerRound(urls.gateway)).find((round) => round.slice === 'coverage-status')!
      expect(first.failed).toEqual([])
      expect(first.legacy.length + first.modern.length).toBe(CUSTOMER_COUNT)
      // 25 % of 200 is 50; sticky buckets of 200 ids land near it.
      expect(first.modern.length).toBeGreaterThanOrEqual(30)
      expect(first.modern.length).toBeLessThanOrEqual(70)
      const again = (await customerRound(urls.gateway)).find((round) => round.slice === 'coverage-status')!
      expect(again.modern).toEqual(first.modern)
    } finally {
      demo.child.kill('SIGINT')
      await demo.finished
    }
  })
})
