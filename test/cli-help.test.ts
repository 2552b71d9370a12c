import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli/cli.ts'
import { COMMANDS } from '../src/cli/usage.ts'
import { ROOT, runFicus } from './helpers/processes.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-cli-help-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the CLI in this process, capturing what it prints. */
async function ficus(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
  // Nothing here may reach a gateway, a broker or the environment's config.
  const env = { FICUS_ADMIN_URL: 'http://127.0.0.1:9', PATH: process.env.PATH }
  const code = await main(args, { env, stdout, stderr: stderr as unknown as NodeJS.WriteStream, cwd: ROOT })
  return { code, stdout: out, stderr: err }
}

describe('ficus <command> --help', () => {
  it.each(COMMANDS)('%s --help prints its own usage and exits 0, doing nothing else', async (command) => {
    for (const flag of ['--help', '-h']) {
      const result = await ficus([command, flag])
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout.startsWith(`Usage: ficus ${command}`)).toBe(true)
    }
    // Also after other arguments, as people type it.
    expect((await ficus([command, 'x', '--help'])).stdout.startsWith(`Usage: ficus ${command}`)).toBe(true)
    expect((await ficus(['help', command])).stdout.startsWith(`Usage: ficus ${command}`)).toBe(true)
  })

  it('a command-line mistake prints that command’s usage (exit 2); an unknown command the list', async () => {
    const flip = await ficus(['flip', 'coverage-status'])
    expect(flip.code).toBe(2)
    expect(flip.stderr).toContain('ficus: FICUS_ERR_CLI_USAGE:')
    expect(flip.stderr).toContain('Usage: ficus flip <slice>')
    const unknown = await ficus(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Commands:')
    expect((await ficus(['help', 'frobnicate'])).code).toBe(2)
  })

  it('works as a real process: `ficus start --help` exits 0 without starting anything', async () => {
    const result = await runFicus(['start', '--help'], { PORT: '1' })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: ficus start [--config FILE]')
  })
})

describe('ficus validate --json', () => {
  it('prints the route table as JSON for a valid config', async () => {
    const result = await ficus(['validate', '--json'])
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as {
      valid: boolean
      slices: { id: string; routes: { method: string; modern: { upstream: string; path: string } }[] }[]
      fallthrough: unknown
    }
    expect(summary.valid).toBe(true)
    expect(summary.slices.map((slice) => slice.id)).toEqual(['coverage-status', 'billing-eligibility', 'claim-lodgement', 'claim-status'])
    expect(summary.slices[0]!.routes[0]!.modern).toEqual({ upstream: 'policy-context', path: '/policies/:policyNumber/coverage' })
    expect(summary.fallthrough).toEqual({ side: 'legacy', upstream: 'legacy-pas' })
  })

  it('prints every problem with its path as JSON for an invalid config, exit 1', async () => {
    const file = join(dir, 'bad.config.ts')
    await writeFile(
      file,
      `export default { sides: { legacy: 'l', modern: 'm' }, upstreams: { l: { url: 'http://127.0.0.1:1' }, m: { url: 'ws://x' } }, slices: { s: { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: 'no-slash' }] } } }\n`,
    )
    const result = await ficus(['validate', file, '--json'])
    expect(result.code).toBe(1)
    const verdict = JSON.parse(result.stdout) as { valid: boolean; error: { code: string }; problems: { path: string; message: string }[] }
    expect(verdict.valid).toBe(false)
    expect(verdict.error.code).toBe('FICUS_ERR_CONFIG_INVALID')
    expect(verdict.problems.map((problem) => problem.path).sort()).toEqual(['slices.s.routes[0].path', 'upstreams.m.url'])
    const missing = await ficus(['validate', join(dir, 'nowhere.ts'), '--json'])
    expect(missing.code).toBe(1)
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).toBe('FICUS_ERR_CONFIG_NOT_FOUND')
  })
})
