import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fail } from '../errors/errors.ts'

const FORMAT = 1
/** Under the data directory: one checkpoint per run, and the summaries of finished runs. */
export const RECONCILE_DIR = 'reconcile'
export const RUNS_FILE = 'runs.jsonl'

/** What a run has counted so far: carried over a stop and a resume. */
export interface RunCounts {
  /** Keys whose comparison was handed to the sink. */
  asked: number
  readonly outcomes: Record<string, number>
  readonly families: Record<string, number>
  readonly categories: Record<string, number>
  /** Family → cause → keys (errors, skips, what was not compared). */
  readonly causes: Record<string, Record<string, number>>
  /** Times a key was put back because a breaker was open or legacy asked to slow down (429, 503). */
  pauses: number
}

export function emptyCounts(): RunCounts {
  return { asked: 0, outcomes: {}, families: {}, categories: {}, causes: {}, pauses: 0 }
}

/** The run's state on disk (`<dataDir>/reconcile/<runId>.json`). */
export interface Checkpoint {
  readonly format: typeof FORMAT
  readonly runId: string
  readonly slice: string
  readonly route: string
  /** `keyField`: the JSON-lines field the keys came from (null: one key a line); the same bytes read otherwise are other keys. */
  readonly source: { readonly description: string; readonly hash: string; readonly keyField?: string | null }
  readonly totalKeys: number
  readonly startedAt: string
  readonly updatedAt: string
  /** Set once every key is done: a finished run is not resumed. */
  readonly finishedAt: string | null
  /** Time spent asking, over every session of the run. */
  readonly activeMs: number
  /** Keys done: every index below `watermark`, and those listed above it. */
  readonly done: { readonly watermark: number; readonly above: readonly number[] }
  readonly counts: RunCounts
}

/** Indexes of keys done, kept small: a low watermark and the done indexes above it. */
export class DoneSet {
  #watermark: number
  readonly #above: Set<number>

  constructor(done: Checkpoint['done'] = { watermark: 0, above: [] }) {
    this.#watermark = done.watermark
    this.#above = new Set(done.above)
    this.#advance()
  }

  get size(): number {
    return this.#watermark + this.#above.size
  }

  has(index: number): boolean {
    return index < this.#watermark || this.#above.has(index)
  }

  add(index: number): void {
    if (this.has(index)) return
    this.#above.add(index)
    this.#advance()
  }

  toJSON(): Checkpoint['done'] {
    return { watermark: this.#watermark, above: [...this.#above].sort((a, b) => a - b) }
  }

  #advance(): void {
    while (this.#above.delete(this.#watermark)) this.#watermark += 1
  }
}

export function checkpointFile(dataDir: string, runId: string): string {
  return join(dataDir, RECONCILE_DIR, `${runId}.json`)
}

/** Writes the checkpoint atomically: a temporary file, flushed, renamed over the last one. */
export async function writeCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(`${JSON.stringify(checkpoint)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, file)
}

/** The checkpoint of a run; FICUS_ERR_RECONCILE_RESUME when there is none or it cannot be read. */
export async function readCheckpoint(file: string, runId: string): Promise<Checkpoint> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw fail.reconcileResume(code === 'ENOENT' ? `no run ${runId} here (no ${file}); check --run-id and FICUS_DATA_DIR` : `cannot read ${file}: ${code}`, {
      cause: err,
    })
  }
  let data: Partial<Checkpoint>
  try {
    data = JSON.parse(text) as Partial<Checkpoint>
  } catch (err) {
    throw fail.reconcileResume(`${file} is not a reconciliation checkpoint (not JSON)`, { cause: err })
  }
  if (data.format !== FORMAT || data.runId !== runId || typeof data.slice !== 'string' || !data.done || !data.counts || !data.source)
    throw fail.reconcileResume(`${file} is not a reconciliation checkpoint of run ${runId}`)
  return data as Checkpoint
}

/** Appends a finished run's summary to `<dataDir>/reconcile/runs.jsonl`. */
export async function appendRunSummary(dataDir: string, summary: object): Promise<void> {
  const file = join(dataDir, RECONCILE_DIR, RUNS_FILE)
  await mkdir(dirname(file), { recursive: true })
  const handle = await open(file, 'a')
  try {
    await handle.appendFile(`${JSON.stringify(summary)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export { FORMAT as CHECKPOINT_FORMAT }
