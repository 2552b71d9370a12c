import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './helpers/processes.ts'

const run = promisify(execFile)
let app: string

// What the container image does (Dockerfile): `npm run build`, then the compiled gateway with
// NODE_OPTIONS=--conditions=ficus-dist. Run from a copy that has no src/, so a single module of
// Ficus loaded from the TypeScript sources would fail the test.
beforeAll(async () => {
  const dist = await mkdtemp(join(tmpdir(), 'ficus-build-'))
  app = join(dist, 'app')
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], {
    cwd: ROOT,
  })
  await cp(join(ROOT, 'src/admin/dashboard'), join(app, 'dist/admin/dashboard'), { recursive: true })
  // As the image copies them: the example config reads its identity map from examples/.
  for (const entry of ['bin', 'package.json', 'routes.config.ts', 'examples/claim-ids.csv']) await cp(join(ROOT, entry), join(app, entry), { recursive: true })
  await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'))
}, 120_000)
afterAll(async () => {
  await rm(join(app, '..'), { recursive: true, force: true })
})

describe('the compiled gateway (container image)', () => {
  it('validates the config and serves, with every module of Ficus from dist/', async () => {
    const env = { ...process.env, NODE_OPTIONS: '--conditions=ficus-dist', LOG_LEVEL: 'warn', CI: 'true' }
    const validated = await run(process.execPath, ['bin/ficus.js', 'validate', '--json'], { cwd: app, env })
    expect((JSON.parse(validated.stdout) as { valid: boolean }).valid).toBe(true)

    const child = spawn(process.execPath, ['bin/ficus.js', 'start'], {
      cwd: app,
      env: { ...env, PORT: '0', ADMIN_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', FICUS_DATA_DIR: join(app, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    try {
      const listening = await new Promise<{ adminUrl: string; migration: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "gateway listening" line; stdout: ${stdout}; stderr: ${stderr}`)), 20_000)
        child.stdout.on('data', () => {
          const line = stdout.split('\n').find((candidate) => candidate.includes('"gateway listening"'))
          if (line) {
            clearTimeout(timer)
            resolve(JSON.parse(line) as { adminUrl: string; migration: string })
          }
        })
        child.once('exit', () => reject(new Error(`exited; stdout: ${stdout}; stderr: ${stderr}`)))
      })
      // The config's name says which migration this gateway runs.
      expect(listening.migration).toBe('insurer-policy-admin')
      const ready = await fetch(`${listening.adminUrl}/readyz`)
      expect(ready.status).toBe(200)
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('close', resolve))
    }
    expect(stderr).toBe('')
  })
})
