// The things the bench drives load against, each in its own process so its CPU time and memory
// are its own: the upstream itself, a bare @fastify/http-proxy, NGINX, and Ficus.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withChildren } from './process-stats.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface Target {
  readonly url: string
  /** Processes whose CPU and memory count for this target. */
  pids(): number[]
  /** Ficus's /metrics (the event-loop delay is read from it); none for the other targets. */
  readonly metricsUrl?: string
  stop(): Promise<void>
}

/** Every process the bench started, killed if the bench exits without stopping it (one exit listener for all). */
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

function killOnExit(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Spawns a process and waits for a line of stdout the `ready` test accepts. */
async function spawnReady(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: (line: string) => boolean,
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)))
  killOnExit(child)
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not start: ${stderr}`)), timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      for (const candidate of buffer.split('\n')) {
        if (ready(candidate)) {
          clearTimeout(timer)
          resolve(candidate)
        }
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${String(code)}): ${stderr}`))
    })
  })
  // Drain whatever else it writes so it never blocks on a full pipe.
  child.stdout?.resume()
  return { child, line }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

export interface Upstreams {
  /** The process serving them all. */
  readonly pid: number | undefined
  readonly legacy: string
  readonly modern: string
  readonly slowModern: string
  readonly smallBytes: number
  readonly largeBytes: number
  stop(): Promise<void>
}

export async function startUpstreams(): Promise<Upstreams> {
  const { child, line } = await spawnReady(process.execPath, ['--import', 'tsx', 'bench/upstreams.ts'], {}, (candidate) => candidate.startsWith('{'))
  const ports = JSON.parse(line) as { legacy: number; modern: number; slowModern: number; smallBytes: number; largeBytes: number }
  return {
    pid: child.pid,
    legacy: `http://127.0.0.1:${ports.legacy}`,
    modern: `http://127.0.0.1:${ports.modern}`,
    slowModern: `http://127.0.0.1:${ports.slowModern}`,
    smallBytes: ports.smallBytes,
    largeBytes: ports.largeBytes,
    stop: () => stopChild(child),
  }
}

/** The upstream itself: no process of its own to measure (it is shared by every target). */
export function direct(url: string): Target {
  return { url, pids: () => [], stop: () => Promise.resolve() }
}

export async function bareProxy(upstream: string): Promise<Target> {
  const { child, line } = await spawnReady(process.execPath, ['--import', 'tsx', 'bench/bare-proxy.ts'], { UPSTREAM: upstream }, (candidate) =>
    candidate.startsWith('{'),
  )
  return { url: (JSON.parse(line) as { url: string }).url, pids: () => (child.pid ? [child.pid] : []), stop: () => stopChild(child) }
}

export interface FicusOptions {
  readonly legacy: string
  readonly modern: string
  readonly shadow: boolean
  readonly env?: NodeJS.ProcessEnv
  /** Run the compiled dist/ as the container image does (`npm run build` first), not the sources through tsx. */
  readonly dist?: boolean
  /** `ficus start --workers N`: N gateway processes behind the one port (default: one process, no primary). */
  readonly workers?: number
}

export async function ficus(options: FicusOptions): Promise<Target & { adminUrl: string; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ficus-bench-'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const workers = options.workers === undefined ? [] : ['--workers', String(options.workers)]
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'ficus.js'), 'start', '--config', 'bench/bench-routes.config.ts', ...workers], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      HOST: '127.0.0.1',
      // One line per request would measure the log pipe, not the gateway.
      LOG_LEVEL: 'warn',
      FICUS_DATA_DIR: dataDir,
      BENCH_LEGACY_URL: options.legacy,
      BENCH_MODERN_URL: options.modern,
      FICUS_BENCH_SHADOW: options.shadow ? 'on' : 'off',
      CI: 'true',
      ...(options.dist ? { NODE_OPTIONS: '--conditions=ficus-dist' } : {}),
      ...options.env,
    },
  })
  killOnExit(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)))
  // Logs are at warn: readiness comes from /readyz, not from the "listening" line.
  const adminUrl = `http://127.0.0.1:${adminPort}`
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`ficus exited (${child.exitCode}): ${stderr}`)
    try {
      if ((await fetch(`${adminUrl}/readyz`)).ok) break
    } catch {
      // not yet
    }
    if (attempt === 300) throw new Error(`ficus did not become ready: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // Several workers: each one's first requests (compiling, JIT) are not the measure; a round of
  // requests on fresh connections, which the kernel spreads over the workers, goes first.
  if (options.workers !== undefined)
    await Promise.all(
      Array.from({ length: 10 * options.workers }, () =>
        fetch(`http://127.0.0.1:${port}/small/P-1001`, { headers: { connection: 'close' } }).then((response) => response.arrayBuffer()),
      ),
    )
  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    metricsUrl: `${adminUrl}/metrics`,
    dataDir,
    // With workers: the primary and every worker it forked, so CPU and memory count them all.
    pids: () => (child.pid ? (options.workers === undefined ? [child.pid] : withChildren(child.pid)) : []),
    stop: async () => {
      await stopChild(child)
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** Compiles Ficus to dist/ (`npm run build`) so the gateway runs as the container image runs it. */
export function buildDist(): void {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr.toString('utf8').slice(-2_000)}`)
}

export function nginxAvailable(): boolean {
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0
}

/** NGINX (one worker, like one Node process) proxying to legacy, optionally mirroring to modern. */
export async function nginx(options: { legacy: string; modern?: string }): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-bench-nginx-'))
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub))
  const port = await freePort()
  const host = (url: string): string => new URL(url).host
  const mirror = options.modern
    ? `mirror /mirror;
      mirror_request_body on;`
    : ''
  const mirrorLocation = options.modern
    ? `location = /mirror {
      internal;
      proxy_pass http://modern$request_uri;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_read_timeout 2s;
    }`
    : ''
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream legacy { server ${host(options.legacy)}; keepalive 64; }
  ${options.modern ? `upstream modern { server ${host(options.modern)}; keepalive 64; }` : ''}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://legacy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${mirror}
    }
    ${mirrorLocation}
  }
}
`,
  )
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' })
  killOnExit(child)
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/small/ready`)
      await response.arrayBuffer()
      break
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pids: () => (child.pid ? withChildren(child.pid) : []),
    stop: async () => {
      await stopChild(child)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
