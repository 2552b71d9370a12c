import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FileAuthorityStore } from '../../src/authority/file-authority-store.ts'
import { ChangeJournal } from '../../src/publish/authority-change-journal.ts'
import { FicusError } from '../../src/errors/errors.ts'
import type { EventSink } from '../../src/publish/event-sink.ts'
import type { AuthorityChanged } from '../../src/publish/events.ts'
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { send } from '../helpers/http-client.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// Every change the store accepted has its AuthorityChanged event on disk — also when the process
// died between the store's commit and the event's write.
let legacy: TestUpstream
let modern: TestUpstream
let dir: string

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  dir = await mkdtemp(join(tmpdir(), 'ficus-change-events-'))
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await rm(dir, { recursive: true, force: true })
})

async function lines<T>(file: string): Promise<T[]> {
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as T]
        } catch {
          return []
        }
      })
  } catch {
    return []
  }
}

const events = (dataDir: string) => lines<AuthorityChanged>(join(dataDir, 'authority-changes', 'authority-changes.jsonl'))
const audit = (dataDir: string) => lines<{ changeId: string; slice: string; version: number; authority: string }>(join(dataDir, 'audit.jsonl'))

describe('authority-change events survive a crash', () => {
  it('an event the process died before writing is published at the next start, under the change id', async () => {
    const dataDir = join(dir, 'journal-only')
    await mkdir(dataDir, { recursive: true })
    await mkdir(join(dir, 'journal-only-run'), { recursive: true })
    const { logger } = capturingLogger()
    const store = new FileAuthorityStore({
      file: join(dataDir, 'authority.json'),
      auditFile: join(dataDir, 'audit.jsonl'),
      slices: [{ id: 'policy-status', authority: 'legacy' }],
      instance: 'gw-1',
      logger,
    })
    await store.open()
    // The store commits; the process "dies" before the event reaches the disk.
    const dying: EventSink<AuthorityChanged> = {
      kind: 'jsonl',
      write: () => undefined,
      writeDurable: () => Promise.reject(new FicusError('FICUS_ERR_INTERNAL', 'killed')),
      stats: () => ({ written: 0, dropped: 0, buffered: 0, lost: 0 }),
      status: () => ({ kind: 'jsonl', state: 'connected', outboxBytes: 0 }),
      close: () => Promise.resolve(),
    }
    const journal = new ChangeJournal({ file: join(dataDir, 'authority-journal.jsonl'), sink: dying, logger })
    await expect(
      journal.commit(store, { changes: [{ sliceId: 'policy-status', authority: 'modern' }], actor: 'ana', reason: 'cut-over', kind: 'flip' }, 'sha256:test'),
    ).rejects.toThrow('killed')
    await store.close()
    const [committed] = await audit(dataDir)
    expect(committed).toMatchObject({ slice: 'policy-status', authority: 'modern', version: 1 })
    expect(await events(dataDir)).toEqual([])

    // The next start finds the open entry, looks the change up in the audit trail, and publishes it.
    const restarted = await startGatewayProcess({
      dir: join(dir, 'journal-only-run'),
      legacyUrl: legacy.url,
      modernUrl: modern.url,
      shutdownTimeoutMs: 2_000,
      env: { FICUS_DATA_DIR: dataDir },
    })
    try {
      const published = await events(dataDir)
      expect(published).toEqual([
        expect.objectContaining({
          eventId: committed?.changeId,
          slice: 'policy-status',
          before: 'legacy',
          after: 'modern',
          version: 1,
          actor: 'ana',
          kind: 'flip',
        }),
      ])
    } finally {
      restarted.spawned.child.kill('SIGTERM')
      await restarted.spawned.finished
    }
  })

  it('SIGKILL while flips run: after a restart every change in the audit trail has exactly its event', async () => {
    const run = join(dir, 'killed')
    await mkdir(run, { recursive: true })
    let gateway: GatewayProcess | undefined = await startGatewayProcess({
      dir: run,
      legacyUrl: legacy.url,
      modernUrl: modern.url,
      shutdownTimeoutMs: 2_000,
      env: {},
    })
    const dataDir = gateway.dataDir
    // Flips back and forth, as fast as they are answered, until the process is killed under them.
    const flipping = (async () => {
      for (let i = 0; i < 2_000; i++) {
        try {
          await send(`${gateway?.adminUrl}/admin/slices/policy-status/authority`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ authority: i % 2 === 0 ? 'modern' : 'legacy', reason: `flip ${i}` }),
          })
        } catch {
          return
        }
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 700))
    gateway.spawned.child.kill('SIGKILL')
    await gateway.spawned.finished
    await flipping
    gateway = await startGatewayProcess({ dir: run, legacyUrl: legacy.url, modernUrl: modern.url, shutdownTimeoutMs: 2_000, env: {} })
    try {
      const changes = await audit(dataDir)
      expect(changes.length).toBeGreaterThan(5)
      const published = new Map((await events(dataDir)).map((event) => [event.eventId, event]))
      for (const change of changes)
        expect(published.get(change.changeId), `event of change ${change.version}`).toMatchObject({ version: change.version, after: change.authority })
    } finally {
      gateway.spawned.child.kill('SIGTERM')
      await gateway.spawned.finished
    }
  })
})
