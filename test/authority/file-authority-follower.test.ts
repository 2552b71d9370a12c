import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flip, type AuthorityState } from '../../src/authority/authority-store.ts'
import { FileAuthorityStore } from '../../src/authority/file-authority-store.ts'
import { ficusErrorCode } from '../helpers/errors.ts'

// The embedded store under `ficus start --workers`: worker 1 writes, the others follow its files.

let dir: string
const SLICES = [{ id: 'coverage-status', authority: 'legacy' as const }]

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-follower-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function store(follower: boolean, followIntervalMs = 60_000): FileAuthorityStore {
  return new FileAuthorityStore({
    file: join(dir, 'authority.json'),
    auditFile: join(dir, 'audit.jsonl'),
    slices: SLICES,
    instance: follower ? 'gw-w2' : 'gw-w1',
    follower,
    followIntervalMs,
  })
}

describe('a follower of the file authority store', () => {
  it('never writes: a change asked of it is refused and the files are untouched', async () => {
    const follower = store(true)
    await follower.open()
    expect(await ficusErrorCode(flip(follower, 'coverage-status', { authority: 'modern', actor: 'op', reason: 'try' }))).toBe('FICUS_ERR_AUTHORITY_STATE_WRITE')
    await expect(readFile(join(dir, 'audit.jsonl'), 'utf8')).rejects.toThrow(/ENOENT/)
    expect(follower.get('coverage-status')?.authority).toBe('legacy')
    await follower.close()
  })

  it("takes the writer's change when told (refresh), and tells its listeners once", async () => {
    const writer = store(false)
    const follower = store(true)
    await writer.open()
    await follower.open()
    const heard: AuthorityState[] = []
    follower.onChange((state) => heard.push(state))
    await flip(writer, 'coverage-status', { authority: 'modern', actor: 'op', reason: 'go' })
    await follower.refresh()
    await follower.refresh()
    expect(follower.get('coverage-status')).toMatchObject({ authority: 'modern', version: 1, instance: 'gw-w1' })
    expect(heard.map((state) => [state.authority, state.version])).toEqual([['modern', 1]])
    await writer.close()
    await follower.close()
  })

  it('finds a change it was not told of by itself, within its follow interval', async () => {
    const writer = store(false)
    const follower = store(true, 50)
    await writer.open()
    await follower.open()
    const changed = new Promise<AuthorityState>((resolve) => follower.onChange(resolve))
    await flip(writer, 'coverage-status', { authority: 'modern', actor: 'op', reason: 'go' })
    expect(await changed).toMatchObject({ authority: 'modern', version: 1 })
    await writer.close()
    await follower.close()
  })
})
