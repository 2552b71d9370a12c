import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flip } from '../../src/authority/authority-store.ts'
import { FileAuthorityStore } from '../../src/authority/file-authority-store.ts'
import type { FicusError } from '../../src/errors/errors.ts'
import { ficusErrorCode } from '../helpers/errors.ts'
import { sampleConfig, startTestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { upstreamPair } from '../helpers/upstream-server.ts'

let dir: string
const SLICES = [
  { id: 'coverage-status', authority: 'legacy' as const },
  { id: 'billing-eligibility', authority: 'modern' as const },
]

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-store-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function store(file = join(dir, 'authority.json')): FileAuthorityStore {
  return new FileAuthorityStore({
    file,
    auditFile: join(file, '..', 'audit.jsonl'),
    slices: SLICES,
    instance: 'gw-1',
    now: () => new Date('2026-11-23T09:00:00.000Z'),
  })
}

describe('file authority store', () => {
  it('starts from the config when nothing is persisted', async () => {
    const s = store()
    await s.open()
    expect(s.get('coverage-status')).toEqual({
      sliceId: 'coverage-status',
      authority: 'legacy',
      version: 0,
      updatedAt: null,
      actor: null,
      reason: null,
      instance: null,
      changeId: null,
    })
    expect(s.get('billing-eligibility')?.authority).toBe('modern')
    expect(s.get('nope')).toBeUndefined()
  })

  it('keeps a flip across a restart, with who, why, when and where', async () => {
    const first = store()
    await first.open()
    const changed = await flip(first, 'coverage-status', { authority: 'modern', actor: 'ops@insurer', reason: 'parallel run at 99.9 %' })
    await first.close()
    expect(changed).toMatchObject({ authority: 'modern', version: 1 })

    const second = store()
    await second.open()
    expect(second.get('coverage-status')).toEqual({
      sliceId: 'coverage-status',
      authority: 'modern',
      version: 1,
      updatedAt: '2026-11-23T09:00:00.000Z',
      actor: 'ops@insurer',
      reason: 'parallel run at 99.9 %',
      instance: 'gw-1',
      changeId: changed.changeId,
    })
    expect(changed.changeId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('a change to the authority a slice already has writes nothing', async () => {
    const s = store()
    await s.open()
    const [same] = await s.apply({ changes: [{ sliceId: 'coverage-status', authority: 'legacy' }], actor: 'ops', reason: 'again', kind: 'flip' })
    expect(same).toMatchObject({ authority: 'legacy', version: 0, changed: false })
    expect(await s.history({ limit: 10 })).toEqual([])
  })

  it('refuses a change made against a stale version, and lets exactly one of two racing changes win', async () => {
    const s = store()
    await s.open()
    const results = await Promise.allSettled([
      flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r', expectedVersion: 0 }),
      flip(s, 'coverage-status', { authority: 'legacy', actor: 'b', reason: 'r', expectedVersion: 0 }),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected'])
    expect(((results[1] as PromiseRejectedResult).reason as FicusError).code).toBe('FICUS_ERR_AUTHORITY_CONFLICT')
    expect(s.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1, actor: 'a' })
  })

  it('refuses an unknown slice, an invalid authority and a change without a reason', async () => {
    const s = store()
    await s.open()
    expect(await ficusErrorCode(flip(s, 'claims', { authority: 'modern', actor: 'a', reason: 'r' }))).toBe('FICUS_ERR_UNKNOWN_SLICE')
    expect(await ficusErrorCode(flip(s, 'coverage-status', { authority: 'new', actor: 'a', reason: 'r' }))).toBe('FICUS_ERR_AUTHORITY_INVALID')
    expect(await ficusErrorCode(flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: '  ' }))).toBe('FICUS_ERR_AUTHORITY_INVALID')
    expect(s.get('coverage-status')?.version).toBe(0)
  })

  it('does not apply a change it could not persist', async () => {
    const s = store(join(dir, 'state', 'authority.json'))
    await s.open()
    // The data directory's place is taken by a file after start: every write now fails.
    await writeFile(join(dir, 'state'), 'x')
    expect(await ficusErrorCode(flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' }))).toBe('FICUS_ERR_AUTHORITY_STATE_WRITE')
    expect(s.get('coverage-status')).toMatchObject({ authority: 'legacy', version: 0 })
  })

  it('refuses to start from an unreadable file instead of guessing', async () => {
    const file = join(dir, 'authority.json')
    for (const content of ['{ not json', '{"format":1,"slices":{"coverage-status":{"authority":"sideways","version":1}}}', '[]']) {
      await writeFile(file, content)
      await expect(store(file).open()).rejects.toMatchObject({ code: 'FICUS_ERR_AUTHORITY_STATE_CORRUPT', message: expect.stringContaining(file) as unknown })
    }
  })

  it('records every change in the audit trail, newest first, filterable by slice', async () => {
    const s = store()
    await s.open()
    await flip(s, 'coverage-status', { authority: '25%', actor: 'ana', reason: 'start the rollout' })
    await flip(s, 'coverage-status', { authority: '50.5%', actor: 'ana', reason: 'halfway' })
    await s.apply({
      changes: [
        { sliceId: 'coverage-status', authority: 'legacy' },
        { sliceId: 'billing-eligibility', authority: 'legacy' },
      ],
      actor: 'oncall',
      reason: 'incident 42',
      kind: 'kill-switch',
    })
    const all = await s.history({ limit: 10 })
    expect(all.map((e) => [e.slice, e.previous, e.authority, e.version, e.kind, e.actor])).toEqual([
      ['billing-eligibility', 'modern', 'legacy', 1, 'kill-switch', 'oncall'],
      ['coverage-status', '50.5%', 'legacy', 3, 'kill-switch', 'oncall'],
      ['coverage-status', '25%', '50.5%', 2, 'flip', 'ana'],
      ['coverage-status', 'legacy', '25%', 1, 'flip', 'ana'],
    ])
    expect(all[0]).toMatchObject({ reason: 'incident 42', at: '2026-11-23T09:00:00.000Z', instance: 'gw-1' })
    expect((await s.history({ slice: 'coverage-status', limit: 2 })).map((e) => e.version)).toEqual([3, 2])
  })

  it('applies an audited change the snapshot file missed (a crash between the two writes)', async () => {
    const s = store()
    await s.open()
    await flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' })
    await writeFile(join(dir, 'authority.json'), JSON.stringify({ format: 1, slices: {} }))
    const reopened = store()
    await reopened.open()
    expect(reopened.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1, actor: 'a' })
  })

  it('skips a torn audit line instead of failing', async () => {
    const s = store()
    await s.open()
    await flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' })
    await writeFile(join(dir, 'audit.jsonl'), `${await readFile(join(dir, 'audit.jsonl'), 'utf8')}{"slice":"coverage-st`)
    const reopened = store()
    await reopened.open()
    expect(await reopened.history({ limit: 10 })).toHaveLength(1)
  })

  it('keeps the state of slices the config no longer declares', async () => {
    const file = join(dir, 'authority.json')
    await writeFile(
      file,
      JSON.stringify({
        format: 1,
        slices: { 'retired-slice': { authority: 'modern', version: 4, updatedAt: null, actor: null, reason: null, instance: null } },
      }),
    )
    const s = store(file)
    await s.open()
    await flip(s, 'coverage-status', { authority: 'modern', actor: 'a', reason: 'r' })
    const saved = JSON.parse(await readFile(file, 'utf8')) as { slices: Record<string, { version: number }> }
    expect(Object.keys(saved.slices).sort()).toEqual(['billing-eligibility', 'coverage-status', 'retired-slice'])
    expect(saved.slices['retired-slice']?.version).toBe(4)
  })
})

describe('gateway restart', () => {
  const upstreams = upstreamPair()

  it('routes by the persisted flip after a restart, not by the config’s initial authority', async () => {
    const first = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url))
    await flip(first.store, 'policy-status', { authority: 'modern', actor: 'ops', reason: 'go' })
    await first.stop({ keepData: true })

    const second = await startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url), { dataDir: first.dataDir })
    try {
      const response = await send(`${second.url}/policy/P-1/status`)
      expect(response.headers['x-ficus-authority']).toBe('modern')
      expect(response.headers['x-upstream']).toBe('modern')
    } finally {
      await second.stop()
    }
  })

  it('does not start on a corrupt authority file', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ficus-corrupt-'))
    await writeFile(join(dataDir, 'authority.json'), '{"format":1,')
    try {
      await expect(startTestGateway(sampleConfig(upstreams.legacy.url, upstreams.modern.url), { dataDir })).rejects.toMatchObject({
        code: 'FICUS_ERR_AUTHORITY_STATE_CORRUPT',
      })
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
