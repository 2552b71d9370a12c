import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import { createLogger } from '../../src/observability/logger.ts'

/** A real pino logger whose JSON lines land, parsed, in `lines`. */
export function capturingLogger(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    },
  })
  return { logger: createLogger({ level, destination }), lines }
}
