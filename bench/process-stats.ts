import { readFileSync } from 'node:fs'
import { EVENT_LOOP_SAMPLING_MS } from '../src/observability/metrics.ts'

const TICKS_PER_SECOND = 100

/** CPU seconds (user + system) a process and the threads it has used so far; 0 when gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** Resident memory of a process now, in bytes; 0 when gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** A process and its direct children (nginx's workers). */
export function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return [pid, ...(children === '' ? [] : children.split(/\s+/).map(Number))]
  } catch {
    return [pid]
  }
}

/** Samples the RSS of some processes until stopped; keeps the peak of their sum. */
export function rssSampler(pids: () => number[], everyMs = 100): { stop(): number; samples: number[] } {
  const samples: number[] = []
  let peak = 0
  const take = (): void => {
    const total = pids().reduce((sum, pid) => sum + rssBytes(pid), 0)
    samples.push(total)
    peak = Math.max(peak, total)
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    samples,
    stop: () => {
      clearInterval(timer)
      take()
      return peak
    },
  }
}

/**
 * The event-loop delay p99 (ms) in a Ficus /metrics text: `nodejs_eventloop_lag_p99_seconds` less
 * the sampler's interval, which the gauge includes (an idle loop reads the interval itself).
 */
export function eventLoopDelayP99Ms(metricsText: string): number | null {
  const match = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(metricsText)
  return match ? Math.max(0, Number(match[1]) * 1000 - EVENT_LOOP_SAMPLING_MS) : null
}

/**
 * Seconds spent in young-generation collections so far, from a Ficus /metrics text: prom-client's
 * `nodejs_gc_duration_seconds_sum{kind="minor"}` (several workers: the primary aggregates them,
 * summing). Null when the metric is absent.
 */
export function youngGcSeconds(metricsText: string): number | null {
  const match = /^nodejs_gc_duration_seconds_sum\{[^}]*kind="minor"[^}]*\} ([0-9.e+-]+)$/m.exec(metricsText)
  return match ? Number(match[1]) : null
}
