// `npm run bench -- --pin`: the measured proxy gets a core to itself, everything else (the load
// generator, the upstreams, the broker) shares the others. Without it, on a small machine, a
// proxy's CPU time per request counts the contention with its own load as much as its own work.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export interface CpuPlan {
  /** The core(s) of the measured target, as taskset's list. */
  readonly measured: string
  /** The cores of the rest. */
  readonly rest: string
  /** Every core (the 2-worker targets, and the report benchmark afterwards). */
  readonly all: string
}

/** Last core this process may use for the measured target, the others for the rest; undefined with one core or without taskset. */
export function cpuPlan(): CpuPlan | undefined {
  const cores = allowedCpus()
  const measured = cores.at(-1)
  if (cores.length < 2 || measured === undefined || spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined
  return { measured: String(measured), rest: cores.slice(0, -1).join(','), all: cores.join(',') }
}

/** The CPU ids this process may run on (`Cpus_allowed_list`: a container's cpuset need not start at 0). */
function allowedCpus(): number[] {
  let list: string | undefined
  try {
    list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  } catch {
    list = undefined
  }
  if (list === undefined) return Array.from({ length: availableParallelism() }, (_, index) => index)
  return list.split(',').flatMap((part) => {
    const [from, to] = part.split('-').map(Number) as [number, number | undefined]
    return Array.from({ length: (to ?? from) - from + 1 }, (_, index) => from + index)
  })
}

/** Binds a process and all its threads (taskset -a) to `cpus`; threads it starts later inherit it. */
export function pin(pid: number | undefined, cpus: string): void {
  if (pid === undefined) return
  const result = spawnSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  if (result.status !== 0) throw new Error(`taskset -a -c -p ${cpus} ${pid} failed: ${result.stderr.toString('utf8').trim()}`)
}
