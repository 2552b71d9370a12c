// `npm run bench -- --pin`: the measured proxy gets a core to itself, everything else (the load
// generator, the upstreams, the broker) shares the others. Without it, on a small machine, a
// proxy's CPU time per request counts the contention with its own load as much as its own work.
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

export interface CpuPlan {
  /** The core(s) of the measured target, as taskset's list. */
  readonly measured: string
  /** The cores of the rest. */
  readonly rest: string
  /** Every core (the 2-worker targets, and the report benchmark afterwards). */
  readonly all: string
}

/** Last core for the measured target, the others for the rest; undefined with one core or without taskset. */
export function cpuPlan(): CpuPlan | undefined {
  const cores = availableParallelism()
  if (cores < 2 || spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined
  return { measured: String(cores - 1), rest: cores === 2 ? '0' : `0-${cores - 2}`, all: `0-${cores - 1}` }
}

/** Binds a process and all its threads (taskset -a) to `cpus`; threads it starts later inherit it. */
export function pin(pid: number | undefined, cpus: string): void {
  if (pid === undefined) return
  const result = spawnSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  if (result.status !== 0) throw new Error(`taskset -a -c -p ${cpus} ${pid} failed: ${result.stderr.toString('utf8').trim()}`)
}
