import { PassThrough, Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/cli.ts'
import { countingUpstream, reconcileConfig, workspace, type CountingUpstream, type Workspace } from '../helpers/reconcile.ts'

// Hostile cases of `ficus reconcile` found in review: each test failed before its fix.

let legacy: CountingUpstream
let modern: CountingUpstream
let ws: Workspace

beforeAll(async () => {
  legacy = await countingUpstream('legacy')
  modern = await countingUpstream('modern')
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
})
afterEach(async () => {
  legacy.reset()
  modern.reset()
  await ws?.remove()
})

async function setUp(): Promise<void> {
  ws = await workspace()
  await ws.writeConfig(reconcileConfig(legacy.url, modern.url))
}

const sink = (): { stream: Writable; text: () => string } => {
  let text = ''
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8')
        done()
      },
    }),
    text: () => text,
  }
}

describe('ficus reconcile, hostile', () => {
  it('stops on SIGINT while it still waits for keys on standard input (exit 130, nothing asked)', async () => {
    await setUp()
    const stdin = new PassThrough()
    stdin.write('P-1\nP-2\n') // … and the producer never closes it
    const controller = new AbortController()
    const stdout = sink()
    const stderr = sink()
    const started = performance.now()
    setTimeout(() => controller.abort(), 300)
    const code = await Promise.race([
      main(['reconcile', 'policy-status', '--keys', '-', '--rate', '100'], {
        env: ws.env(),
        stdout: stdout.stream,
        stderr: stderr.stream as unknown as NodeJS.WriteStream,
        cwd: ws.dir,
        stdin,
        signal: controller.signal,
      }),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting for standard input'), 3_000)),
    ])
    stdin.end()
    expect(code, stderr.text()).toBe(130)
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(stderr.text()).toContain('stopped before any key was asked')
    expect(legacy.requests).toHaveLength(0)
  })
})
