import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sampleConfig } from '../helpers/gateway.ts'
import { FICUS_BIN, spawnNode, type Spawned } from '../helpers/processes.ts'

// `ficus start` turns V8's allocation-site pretenuring off (app/gc-tuning.ts: request-scoped objects
// pretenured by V8 kept 11 MB alive through every young collection at 2 000 req/s); the bench
// measures the effect, this holds the wiring and the escape hatch.
let dir: string
let gateway: Spawned | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-gc-tuning-'))
  await writeFile(join(dir, 'routes.config.ts'), `export default ${JSON.stringify(sampleConfig('http://127.0.0.1:1', 'http://127.0.0.1:2'))}\n`)
})
afterEach(async () => {
  gateway?.child.kill('SIGTERM')
  await gateway?.finished
  gateway = undefined
  await rm(dir, { recursive: true, force: true })
})

function start(env: NodeJS.ProcessEnv = {}): Spawned {
  gateway = spawnNode([FICUS_BIN, 'start', '--config', join(dir, 'routes.config.ts')], {
    PORT: '0',
    HOST: '127.0.0.1',
    FICUS_DATA_DIR: join(dir, 'data'),
    ...env,
  })
  return gateway
}

describe('ficus start and V8 pretenuring', () => {
  it('turns it off by default, and says so when it listens', async () => {
    expect((await start().logLine('gateway listening')).v8Pretenuring).toBe(false)
  })

  it('keeps V8’s default with FICUS_V8_PRETENURING=on', async () => {
    expect((await start({ FICUS_V8_PRETENURING: 'on' }).logLine('gateway listening')).v8Pretenuring).toBe(true)
  })

  it('refuses any other value, naming the variable', async () => {
    const result = await start({ FICUS_V8_PRETENURING: 'yes' }).finished
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('FICUS_ERR_ENV_INVALID: FICUS_V8_PRETENURING: must be on or off (got "yes")')
  })
})
