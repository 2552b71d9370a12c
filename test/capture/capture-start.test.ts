import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFicus } from '../helpers/processes.ts'

// `ficus start` with a slice that captures pairs refuses, as one line and exit 1, without a key or
// with a malformed one — and the line never repeats the key.

const CONFIG = {
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:4101' }, modern: { url: 'http://127.0.0.1:4102' } },
  slices: {
    'coverage-status': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:id' }], shadow: {}, capture: { retentionHours: 1 } },
  },
}

let dir: string
let config: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-capture-start-'))
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')
  config = join(dir, 'capture.config.ts')
  await writeFile(config, `export default ${JSON.stringify(CONFIG)}\n`)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function start(env: NodeJS.ProcessEnv): Promise<{ code: number | null; line: string; dataDir: string }> {
  const dataDir = await mkdtemp(join(dir, 'data-'))
  const finished = await runFicus(['start', '--config', config], { HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', FICUS_DATA_DIR: dataDir, ...env })
  const lines = finished.stderr.split('\n').filter((line) => line !== '')
  expect(lines, finished.stderr).toHaveLength(1)
  expect(finished.stdout).not.toContain('gateway listening')
  return { code: finished.code, line: lines[0]!, dataDir }
}

describe('ficus start with a capturing slice', () => {
  it('refuses without FICUS_CAPTURE_KEYS', async () => {
    const outcome = await start({ FICUS_CAPTURE_KEYS: '' })
    expect(outcome.code).toBe(1)
    expect(outcome.line).toMatch(/^ficus: FICUS_ERR_CAPTURE_KEY_MISSING: FICUS_CAPTURE_KEYS is not set, and slices capture pairs \(coverage-status\)/)
    expect(await readdir(join(outcome.dataDir, 'captures')).catch(() => [])).toEqual([])
  })

  it('refuses a malformed key, naming the entry and never the key', async () => {
    const good = randomBytes(32).toString('base64')
    const bad = randomBytes(40).toString('base64')
    const outcome = await start({ FICUS_CAPTURE_KEYS: `current:${good},old:${bad}` })
    expect(outcome.code).toBe(1)
    expect(outcome.line).toMatch(/^ficus: FICUS_ERR_CAPTURE_KEY_INVALID: FICUS_CAPTURE_KEYS entry 2: the key is 40 bytes; it must be exactly 32/)
    expect(outcome.line).not.toContain(bad)
    expect(outcome.line).not.toContain(good)
  })
})
