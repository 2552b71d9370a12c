// `npm run bench:start`: how long the gateway takes from process start to a 200 from /readyz, run
// the two ways the Dockerfile could: through tsx from the TypeScript sources (each start with an
// empty tsx cache, as a new container has), and compiled (`tsconfig.build.json`, the image's way,
// NODE_OPTIONS=--conditions=ficus-dist). The example config; no upstream needs to answer. Bounded:
// a fixed number of starts, each given at most 30 s.
import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './targets.ts'
import { median } from './median.ts'

const STARTS = Number(process.env.BENCH_STARTS ?? 7)
const run = promisify(execFile)

async function timeToReady(cwd: string, env: NodeJS.ProcessEnv, scratch: string): Promise<number> {
  const dataDir = await mkdtemp(join(scratch, 'data-'))
  const started = performance.now()
  const child = spawn(process.execPath, ['bin/ficus.js', 'start'], {
    cwd,
    env: { ...process.env, ...env, PORT: '0', ADMIN_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', CI: 'true', FICUS_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    let stdout = ''
    const adminUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "gateway listening" line within 30 s')), 30_000)
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8')
        const line = stdout.split('\n').find((candidate) => candidate.includes('"gateway listening"'))
        if (line) {
          clearTimeout(timer)
          resolve((JSON.parse(line) as { adminUrl: string }).adminUrl)
        }
      })
      child.once('exit', () => reject(new Error('the gateway exited')))
    })
    const ready = await fetch(`${adminUrl}/readyz`)
    if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}`)
    return performance.now() - started
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('close', resolve))
  }
}

const scratch = await mkdtemp(join(tmpdir(), 'ficus-start-time-'))
try {
  const app = join(scratch, 'app')
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], {
    cwd: ROOT,
  })
  await cp(join(ROOT, 'src/admin/dashboard'), join(app, 'dist/admin/dashboard'), { recursive: true })
  for (const entry of ['bin', 'package.json', 'routes.config.ts']) await cp(join(ROOT, entry), join(app, entry), { recursive: true })
  await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'))

  const times = { tsx: [] as number[], compiled: [] as number[] }
  // Alternate, so a slow moment of the machine hurts both alike.
  for (let index = 0; index < STARTS; index++) {
    times.tsx.push(await timeToReady(ROOT, { TMPDIR: await mkdtemp(join(scratch, 'tsx-cache-')) }, scratch))
    times.compiled.push(await timeToReady(app, { NODE_OPTIONS: '--conditions=ficus-dist' }, scratch))
  }
  for (const [way, values] of Object.entries(times)) {
    process.stdout.write(
      `${way.padEnd(9)} median ${median(values).toFixed(0)} ms to a ready /readyz  (${values.map((value) => value.toFixed(0)).join(', ')})\n`,
    )
  }
} finally {
  await rm(scratch, { recursive: true, force: true })
}
