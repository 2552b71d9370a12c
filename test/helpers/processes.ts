import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const FICUS_BIN = fileURLToPath(new URL('../../bin/ficus.js', import.meta.url))

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Spawned {
  readonly child: ChildProcess
  readonly finished: Promise<Finished>
  /** Resolves with the first stdout JSON log line whose `msg` is `msg`. */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>
  stdout(): string
}

/** Runs `node <args>` from the repository root, without a terminal, as CI does. */
export function spawnNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'info', ADMIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const waiters: (() => void)[] = []
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    for (const wake of waiters.splice(0)) wake()
  })
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const finished = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => {
      for (const wake of waiters.splice(0)) wake()
      resolve({ code, signal, stdout, stderr })
    })
  })
  const find = (msg: string): Record<string, unknown> | undefined => {
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue
      const parsed = JSON.parse(line) as Record<string, unknown>
      if (parsed.msg === msg) return parsed
    }
    return undefined
  }
  const logLine = (msg: string, timeoutMs = 20_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`)), timeoutMs)
      const check = (): void => {
        const found = find(msg)
        if (found) {
          clearTimeout(timer)
          resolve(found)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer)
          reject(new Error(`process ended before "${msg}"; stdout: ${stdout}; stderr: ${stderr}`))
        } else waiters.push(check)
      }
      check()
    })
  return { child, finished, logLine, stdout: () => stdout }
}

/** Runs `ficus <args>` to completion. */
export function runFicus(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return spawnNode([FICUS_BIN, ...args], env).finished
}
