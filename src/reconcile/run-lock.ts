import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fail } from '../errors/errors.ts'

/** True when a process with this id is alive on this machine (signal 0 tests, sends nothing). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * One reconciliation run at a time per data directory: runs share its comparisons file and outbox
 * (`comparisons-reconcile.jsonl`, `outbox-reconcile/`), which take one writer. The lock file holds
 * the owner's pid and run id; a lock whose process is gone (killed) is taken over. Resolves with
 * the release.
 */
export async function lockRuns(file: string, runId: string): Promise<() => Promise<void>> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx', 0o600)
      await handle.writeFile(JSON.stringify({ pid: process.pid, runId }))
      await handle.close()
      return () => rm(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner: { pid?: unknown; runId?: unknown } = await readFile(file, 'utf8')
      .then((text) => JSON.parse(text) as { pid?: unknown; runId?: unknown })
      .catch(() => ({}))
    if (typeof owner.pid === 'number' && owner.pid !== process.pid && alive(owner.pid))
      throw fail.reconcileBusy(
        `run ${String(owner.runId)} (process ${owner.pid}) is reconciling in this data directory; runs share its comparisons file and outbox, one at a time (wait for it, or stop it and resume later)`,
      )
    // Its owner is gone (or the file is half written): the lock is stale.
    await rm(file, { force: true })
  }
  throw fail.reconcileBusy(`${file}: another run took the reconciliation lock at the same moment; try again`)
}
