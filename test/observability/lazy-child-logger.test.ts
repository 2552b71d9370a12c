import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, LazyChildLogger } from '../../src/observability/logger.ts'

function capture(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { lines, destination }
}

describe('a request logger made on first use', () => {
  it('writes enabled levels with the request bindings and the redaction, and nothing below the level', async () => {
    const { lines, destination } = capture()
    const logger = new LazyChildLogger(createLogger({ level: 'warn', destination }), { reqId: 'r-1' })
    logger.info({ slice: 's' }, 'below the level')
    logger.debug('below the level')
    logger.warn({ headers: { authorization: 'Bearer secret' } }, 'kept')
    logger.error('also kept')
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines.map((line) => line.msg)).toEqual(['kept', 'also kept'])
    expect(lines[0]).toMatchObject({ reqId: 'r-1', headers: { authorization: '[redacted]' } })
    expect(lines[1]).toMatchObject({ reqId: 'r-1' })
    expect(logger.isLevelEnabled('info')).toBe(false)
  })

  it('takes a level of its own, and its children keep the bindings', async () => {
    const { lines, destination } = capture()
    const logger = new LazyChildLogger(createLogger({ level: 'warn', destination }), { reqId: 'r-2' })
    logger.level = 'debug'
    logger.debug('now enabled')
    logger.child({ component: 'c' }).warn('from a child')
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines).toMatchObject([
      { reqId: 'r-2', msg: 'now enabled' },
      { reqId: 'r-2', component: 'c', msg: 'from a child' },
    ])
  })
})
