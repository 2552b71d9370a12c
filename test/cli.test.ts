import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFicus } from './helpers/processes.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-cli-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function configFile(name: string, content: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, content)
  return file
}

const VALID = {
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:4101' }, modern: { url: 'http://127.0.0.1:4102' } },
  slices: {
    'coverage-status': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:id', rewrite: { modern: '/policies/:id' } }] },
  },
}

describe('ficus validate', () => {
  it('accepts the example routes.config.ts and prints where each route goes', async () => {
    const result = await runFicus(['validate'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('routes.config.ts: valid — 4 slice(s), 5 route(s), 4 upstream(s)')
    expect(result.stdout).toMatch(/modern → policy-context \/policies\/:policyNumber\/coverage/)
    expect(result.stdout).toContain('unmatched requests → legacy (legacy-pas)')
  })

  it('rejects a bad config naming each field at fault, exit 1', async () => {
    const bad = structuredClone(VALID) as Record<string, unknown> & typeof VALID
    ;(bad.slices['coverage-status'] as Record<string, unknown>).modern = { upstream: 'billing-context' }
    ;(bad.upstreams.modern as Record<string, unknown>).url = 'ws://127.0.0.1:4102'
    const file = await configFile('bad.config.ts', `export default ${JSON.stringify(bad)}\n`)
    const result = await runFicus(['validate', file])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('FICUS_ERR_CONFIG_INVALID')
    expect(result.stderr).toContain('upstreams.modern.url: must be an http:// or https:// URL (got "ws")')
    expect(result.stderr).toContain('slices.coverage-status.modern.upstream: unknown upstream "billing-context" (declared: "legacy", "modern")')
  })

  it('says when the file is missing, does not load or has no default export', async () => {
    const missing = await runFicus(['validate', join(dir, 'nope.ts')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/FICUS_ERR_CONFIG_NOT_FOUND: .*nope\.ts: no such file/)

    const broken = await runFicus(['validate', await configFile('broken.config.ts', 'export default {{\n')])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/FICUS_ERR_CONFIG_LOAD: .*broken\.config\.ts: could not be loaded/)

    const noDefault = await runFicus(['validate', await configFile('named.config.ts', `export const config = ${JSON.stringify(VALID)}\n`)])
    expect(noDefault.code).toBe(1)
    expect(noDefault.stderr).toContain('has no default export')
  })
})

describe('ficus start', () => {
  it('refuses to start on an invalid config, exit 1, without listening', async () => {
    const file = await configFile(
      'dup.config.ts',
      `export default ${JSON.stringify({ ...VALID, slices: { ...VALID.slices, 'billing-eligibility': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:policyNumber' }] } } })}\n`,
    )
    const result = await runFicus(['start', '--config', file], { PORT: '0' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('slices.billing-eligibility.routes[0]: GET /policy/:policyNumber is already claimed by slices.coverage-status.routes[0]')
    expect(result.stdout).not.toContain('gateway listening')
  })

  it('refuses an invalid environment variable, naming it', async () => {
    const result = await runFicus(['start'], { PORT: 'eighty' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('FICUS_ERR_ENV_INVALID: PORT: must be a whole number from 0 to 65535 (got "eighty")')
  })
})

describe('ficus reporter', () => {
  it('refuses an invalid port or log level before connecting anywhere, naming the variable', async () => {
    const port = await runFicus(['reporter'], { KAFKA_BROKERS: '127.0.0.1:1', REPORTER_PORT: '70000' })
    expect(port.code).toBe(1)
    expect(port.stderr).toContain('FICUS_ERR_ENV_INVALID: REPORTER_PORT: must be a whole number from 0 to 65535 (got "70000")')
    const level = await runFicus(['reporter'], { KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'loud' })
    expect(level.code).toBe(1)
    expect(level.stderr).toContain('FICUS_ERR_ENV_INVALID: LOG_LEVEL: must be one of')
    expect(level.stderr).toContain('(got "loud")')
  })
})

describe('ficus usage', () => {
  it('exits 2 with the usage on an unknown command or option', async () => {
    const unknown = await runFicus(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('FICUS_ERR_CLI_USAGE: unknown command "frobnicate"')
    expect(unknown.stderr).toContain('Usage: ficus <command>')
    const option = await runFicus(['validate', '--strict-mode'])
    expect(option.code).toBe(2)
  })

  it('prints help and version', async () => {
    expect((await runFicus(['help'])).stdout).toContain('validate [FILE]')
    expect((await runFicus(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
