import { PassThrough, Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/cli.ts'
import { countingUpstream, ficus, reconcileConfig, workspace, type CountingUpstream, type Workspace } from '../helpers/reconcile.ts'

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

  it('refuses to resume a JSON-lines run without its --key-field (or with another): the same bytes, other keys', async () => {
    await setUp()
    const lines = Array.from({ length: 30 }, (_, index) => JSON.stringify({ policyNo: `J-${index + 1}`, other: `O-${index + 1}` }))
    const file = await ws.write('export.jsonl', `${lines.join('\n')}\n`)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 1_500)
    const first = await ficus(['reconcile', 'policy-status', '--keys', file, '--key-field', 'policyNo', '--rate', '5', '--run-id', 'kf-1'], ws.env(), {
      signal: controller.signal,
    })
    expect(first.code, first.stderr).toBe(130)
    for (const flags of [[], ['--key-field', 'other']]) {
      const resumed = await ficus(['reconcile', 'policy-status', '--keys', file, ...flags, '--resume', 'kf-1', '--rate', '500'], ws.env())
      expect(resumed.code, resumed.stderr).toBe(1)
      expect(resumed.stderr).toContain('FICUS_ERR_RECONCILE_RESUME')
    }
    expect([...legacy.perKey.keys()].every((key) => key.startsWith('J-'))).toBe(true)
    const resumed = await ficus(['reconcile', 'policy-status', '--keys', file, '--key-field', 'policyNo', '--resume', 'kf-1', '--rate', '500'], ws.env())
    expect(resumed.code, resumed.stderr).toBe(0)
  })

  it('reads a JSON-lines export that starts with a byte order mark and ends its lines with CRLF', async () => {
    await setUp()
    const file = await ws.write('export.jsonl', '\uFEFF{"policyNo":"J-1"}\r\n{"policyNo":"J-2"}\r\n')
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--key-field', 'policyNo', '--rate', '500', '--json'], ws.env())
    expect(run.code, run.stderr).toBe(0)
    expect([...legacy.perKey.keys()].sort()).toEqual(['J-1', 'J-2'])
  })

  it('ficus report --run with a run id it has no comparisons of is an error, not an empty report', async () => {
    await setUp()
    const file = await ws.write('keys.txt', 'P-1\nP-2\n')
    const run = await ficus(['reconcile', 'policy-status', '--keys', file, '--rate', '500', '--run-id', 'known-1'], ws.env())
    expect(run.code, run.stderr).toBe(0)
    const known = await ficus(['report', '--run', 'known-1', '--format', 'json', '--config', ws.configFile], ws.env())
    expect(known.code, known.stderr).toBe(0)
    const typo = await ficus(['report', '--run', 'known-2', '--format', 'json', '--config', ws.configFile], ws.env())
    expect(typo.code).toBe(1)
    expect(typo.stderr).toContain('FICUS_ERR_UNKNOWN_RUN')
    expect(typo.stdout).toBe('')
  })
})
