import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { createKafkaClient } from '../../src/kafka/index.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { DISCREPANCIES_FILE, TRIAGE_FILE } from '../../src/app/data-dir.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { FileDiscrepancyRegister } from '../../src/register/file-discrepancy-register.ts'
import { FileTriageStore } from '../../src/register/triage-store.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { PERMISSIVE_READINESS, startTestGateway } from '../helpers/gateway.ts'
import { runFicus } from '../helpers/processes.ts'

let dir: string
let config: string
const HOUR = 3_600_000
const now = Date.now()

// A config whose thresholds the generated evidence meets for one slice and not for the other.
const CONFIG = {
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
  readiness: { minSamples: 50, minMatchRate: 90, minSoakHours: 1, latency: { maxRatio: 2 } },
  slices: {
    'coverage-status': { description: 'In force? <b>html</b>', authority: 'legacy', routes: [{ method: 'GET', path: '/c/:id' }] },
    'billing-eligibility': { description: 'Billable?', authority: 'legacy', routes: [{ method: 'GET', path: '/b/:id' }] },
  },
}

// The evidence is made under the rules the config declares: the slices' current rules.
const RULES = validateConfig(CONFIG).slices[0]!.compare.rulesHash
const OLD_RULES = 'sha256:00000000000000aa'

function records(): Comparison[] {
  const out: Comparison[] = []
  // 150 samples five hours ago, 50 half an hour ago.
  for (let i = 0; i < 200; i++)
    out.push(comparison({ slice: 'coverage-status', rulesHash: RULES, eventTime: new Date(now - (i < 150 ? 5 * HOUR : HOUR / 2) + i * 1_000) }))
  for (let i = 0; i < 100; i++)
    out.push(
      comparison({
        slice: 'billing-eligibility',
        rulesHash: RULES,
        category: i % 4 === 0 ? 'body-mismatch' : 'match',
        diffPaths: i % 4 === 0 ? ['/body/eligible'] : [],
        eventTime: new Date(now - 3 * HOUR + i * 60_000),
      }),
    )
  return out
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-report-'))
  await mkdir(join(dir, 'data', 'comparisons'), { recursive: true })
  const all = records()
  // Two files as the sink leaves them: a rotated one and the current one, one record twice.
  await writeFile(
    join(dir, 'data', 'comparisons', 'comparisons-2026-11-20T00-00-00-000Z-000001.jsonl'),
    `${all
      .slice(0, 150)
      .map((r) => JSON.stringify(r))
      .join('\n')}\n`,
  )
  await writeFile(join(dir, 'data', 'comparisons', 'comparisons.jsonl'), `${[...all.slice(150), all[0]].map((r) => JSON.stringify(r)).join('\n')}\nnot json\n`)
  config = join(dir, 'routes.config.ts')
  await writeFile(config, `export default ${JSON.stringify(CONFIG)}\n`)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const base = (): string[] => ['report', '--config', config, '--data-dir', join(dir, 'data')]

describe('ficus report from JSONL', () => {
  it('prints every slice with its verdict, counting the duplicate once', async () => {
    const result = await runFicus(base())
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('301 record(s) read, 1 duplicate(s) counted once')
    expect(result.stdout).toMatch(/^coverage-status {2}READY/m)
    expect(result.stdout).toMatch(/^billing-eligibility {2}NOT READY/m)
    expect(result.stdout).toContain('[ ] conflicts: 25 genuine conflict(s) in 100 compared samples, 25.00 % (none allowed)')
    expect(result.stdout).toContain('top differing paths: /body/eligible (genuine-conflict) ×25')
  })

  it('gives a stable JSON shape, Markdown and a window', async () => {
    const json = JSON.parse((await runFicus([...base(), '--format', 'json'])).stdout) as {
      reportVersion: number
      slices: { slice: string; samples: number; readiness: { ready: boolean; criteria: { id: string; met: boolean }[] } }[]
    }
    expect(json.reportVersion).toBe(1)
    expect(json.slices.map((slice) => [slice.slice, slice.samples, slice.readiness.ready])).toEqual([
      ['coverage-status', 200, true],
      ['billing-eligibility', 100, false],
    ])
    // No register in the data directory: the backlog of billing's conflicts cannot be judged, so it does not pass.
    expect(json.slices[1]!.readiness.criteria.filter((criterion) => !criterion.met).map((criterion) => criterion.id)).toEqual([
      'match-rate',
      'conflicts',
      'open-backlog',
    ])
    const md = (await runFicus([...base(), '--format', 'md'])).stdout
    expect(md).toContain('| coverage-status | yes | 200 |')
    const windowed = JSON.parse((await runFicus([...base(), '--format', 'json', '--since', '2h'])).stdout) as { slices: { samples: number }[] }
    expect(windowed.slices[0]!.samples).toBe(50)
  })

  it('exits non-zero with --require-ready for a slice that is not ready, zero for one that is', async () => {
    const unready = await runFicus([...base(), '--require-ready', 'billing-eligibility', '--out', join(dir, 'r.md'), '--format', 'md'])
    expect(unready.code).toBe(3)
    expect(unready.stderr).toContain('slice billing-eligibility is not ready (unmet: match-rate, conflicts, open-backlog)')
    expect(await readFile(join(dir, 'r.md'), 'utf8')).toContain('# Ficus shadow-run report')
    expect((await runFicus([...base(), '--require-ready', 'coverage-status'])).code).toBe(0)
  })

  it('reads triage from the data directory: an accepted signature is set apart, with its reason and expiry', async () => {
    const data = join(dir, 'triaged')
    await mkdir(join(data, 'comparisons'), { recursive: true })
    const billing = records().filter((record) => record.slice === 'billing-eligibility')
    await writeFile(join(data, 'comparisons', 'comparisons.jsonl'), `${billing.map((record) => JSON.stringify(record)).join('\n')}\n`)
    const logger = createLogger({ level: 'silent' })
    const register = new FileDiscrepancyRegister({ file: join(data, DISCREPANCIES_FILE), logger })
    await register.open()
    for (const record of billing) register.record(record)
    const [entry] = await register.list({ limit: 1 })
    await register.close()
    const triage = new FileTriageStore(join(data, TRIAGE_FILE), 'test', logger)
    const expiresAt = new Date(now + 24 * HOUR).toISOString()
    await triage.act({ signature: entry!.id, action: 'accept', actor: 'ana', reason: 'eligibility rule changed on purpose', approver: 'cy', expiresAt })
    await triage.close()

    const result = await runFicus(['report', '--config', config, '--data-dir', data, '--slice', 'billing-eligibility'])
    expect(result.stdout).toContain('  disagreement 0, accepted 25 (')
    expect(result.stdout).toContain(`"eligibility rule changed on purpose" approved by cy, until ${expiresAt}`)
    expect(result.stdout).toMatch(/\[x\] conflicts: 0 genuine conflict\(s\)/)
    expect(result.stdout).toContain('[x] open-backlog: no open genuine conflict')
  })

  it('shows every rules version side by side and judges readiness on the current one; --rules shows another', async () => {
    const versioned = join(dir, 'versioned')
    await mkdir(join(versioned, 'comparisons'), { recursive: true })
    // Under old rules: 40 conflicts. Under the current rules: 60 matches.
    const old = Array.from({ length: 40 }, (_, i) =>
      comparison({
        slice: 'coverage-status',
        rulesHash: OLD_RULES,
        category: 'body-mismatch',
        diffPaths: ['/body/status'],
        eventTime: new Date(now - 4 * HOUR + i * 1_000),
      }),
    )
    const fresh = Array.from({ length: 60 }, (_, i) =>
      comparison({ slice: 'coverage-status', rulesHash: RULES, eventTime: new Date(now - 2 * HOUR + i * 120_000) }),
    )
    await writeFile(join(versioned, 'comparisons', 'comparisons.jsonl'), `${[...old, ...fresh].map((record) => JSON.stringify(record)).join('\n')}\n`)
    const args = ['report', '--config', config, '--data-dir', versioned, '--slice', 'coverage-status', '--format', 'json']
    type Shown = {
      slices: {
        rulesHash: string
        samples: number
        families: Record<string, number>
        readiness: { ready: boolean; evidence: { rulesHash: string } }
        rulesVersions: { rulesHash: string; current: boolean; samples: number }[]
      }[]
    }
    const current = (JSON.parse((await runFicus(args)).stdout) as Shown).slices[0]!
    expect(current).toMatchObject({ rulesHash: RULES, samples: 60, readiness: { ready: true, evidence: { rulesHash: RULES } } })
    expect(current.rulesVersions.map((version) => [version.rulesHash, version.current, version.samples])).toEqual([
      [RULES, true, 60],
      [OLD_RULES, false, 40],
    ])
    const older = (JSON.parse((await runFicus([...args, '--rules', '00000000000000aa'])).stdout) as Shown).slices[0]!
    expect(older).toMatchObject({
      rulesHash: OLD_RULES,
      samples: 40,
      families: { 'genuine-conflict': 40 },
      readiness: { ready: true, evidence: { rulesHash: RULES } },
    })
    expect((await runFicus(['report', '--config', config, '--data-dir', versioned, '--slice', 'coverage-status'])).stdout).toContain(
      'other rules versions: 00000000',
    )
  })

  it('shows in HTML the authority and recent flips of a running gateway named with --admin-url', async () => {
    const gateway = await startTestGateway(validateConfig({ ...CONFIG, readiness: PERMISSIVE_READINESS }))
    try {
      const flip = await fetch(`${gateway.adminUrl}/admin/slices/billing-eligibility/authority`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-ficus-actor': 'ops-anna' },
        body: JSON.stringify({ authority: 'modern', reason: 'cut-over <b>now</b>' }),
      })
      expect(flip.status).toBe(200)
      const html = (await runFicus([...base(), '--format', 'html', '--admin-url', gateway.adminUrl])).stdout
      expect(html).toContain('Authority: modern')
      expect(html).toMatch(/on modern with 25 genuine conflict/)
      expect(html).toContain('cut-over &lt;b&gt;now&lt;/b&gt;')
      expect(html).toContain('ops-anna')
      // Without a gateway to ask, the report says nothing about authority rather than guess.
      const offline = (await runFicus([...base(), '--format', 'html'])).stdout
      expect(offline).not.toContain('Authority: modern')
      const unreachable = await runFicus([...base(), '--format', 'html', '--admin-url', 'http://127.0.0.1:1'])
      expect(unreachable.code).toBe(1)
      expect(unreachable.stderr).toContain('FICUS_ERR_ADMIN_UNREACHABLE')
    } finally {
      await gateway.stop()
    }
  })

  it('says what is wrong with its arguments', async () => {
    expect((await runFicus([...base(), '--format', 'pdf'])).stderr).toContain('--format must be one of text, md, json, html (got "pdf")')
    expect((await runFicus([...base(), '--since', 'yesterday'])).stderr).toContain('--since must be a duration such as 30m, 24h or 7d')
    const missing = await runFicus(['report', '--config', config, '--data-dir', join(dir, 'nowhere')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('FICUS_ERR_REPORT_SOURCE')
  })
})

describe('ficus report from Kafka', () => {
  it('reads a time window by offsets', async () => {
    const brokers = inject('kafkaBrokers')
    const topic = `report-${Date.now()}`
    const kafka = createKafkaClient({ clientId: 'report-test', brokers: [brokers] })
    const admin = await kafka.admin()
    await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }])
    await admin.close()
    const producer = await kafka.producer({ idempotent: false })
    const send = (list: Comparison[]) => producer.send([{ topic, messages: list.map((record) => ({ key: record.slice, value: JSON.stringify(record) })) }])
    const older = Array.from({ length: 30 }, () => comparison({ slice: 'coverage-status', rulesHash: RULES, eventTime: new Date() }))
    await send(older)
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const from = new Date().toISOString()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const newer = Array.from({ length: 20 }, () => comparison({ slice: 'coverage-status', rulesHash: RULES, eventTime: new Date() }))
    await send(newer)
    await producer.close()

    const env = { KAFKA_BROKERS: brokers }
    const all = JSON.parse((await runFicus(['report', '--config', config, '--topic', topic, '--format', 'json'], env)).stdout) as {
      source: string
      slices: { samples: number }[]
    }
    expect(all.source).toBe(`kafka ${topic}`)
    expect(all.slices[0]!.samples).toBe(50)
    const windowed = await runFicus(['report', '--config', config, '--topic', topic, '--format', 'json', '--from', from], env)
    expect(windowed.stderr).toBe('')
    expect((JSON.parse(windowed.stdout) as { slices: { samples: number }[] }).slices[0]!.samples).toBe(20)
  })
})
