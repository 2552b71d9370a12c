import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { main } from '../../src/cli/cli.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { PERMISSIVE_READINESS } from './gateway.ts'
import { startUpstream, type TestUpstream } from './upstream-server.ts'

/** What a side answers for a key (its status and body); undefined: the usual `{ id, status: 'active' }`. */
export type Answer = (
  key: string,
  request: IncomingMessage,
) => { status: number; body: unknown } | undefined | Promise<{ status: number; body: unknown } | undefined>

/** A test upstream that counts the requests of each key and the most it had in flight at once. */
export interface CountingUpstream extends TestUpstream {
  readonly perKey: Map<string, number>
  readonly inFlight: { now: number; max: number }
  /** x-request-id of every request, in arrival order. */
  readonly requestIds: string[]
  /** performance.now() of every request's arrival. */
  readonly arrivals: number[]
  /** Resets counts and recorded requests. */
  reset(): void
}

/** The key of a request: the last path segment (legacy /policy/:id/status, modern /policies/:id), decoded. */
export function keyOf(url: string): string {
  const parts = new URL(url, 'http://x').pathname.split('/').filter((part) => part !== '')
  const segment = parts[0] === 'policy' ? parts[1] : parts[parts.length - 1]
  return decodeURIComponent(segment ?? '')
}

export async function countingUpstream(name: string, answer?: Answer, delayMs = 2): Promise<CountingUpstream> {
  const perKey = new Map<string, number>()
  const inFlight = { now: 0, max: 0 }
  const requestIds: string[] = []
  const arrivals: number[] = []
  const upstream = await startUpstream(name, async (request: IncomingMessage, response: ServerResponse) => {
    arrivals.push(performance.now())
    inFlight.now += 1
    inFlight.max = Math.max(inFlight.max, inFlight.now)
    try {
      const key = keyOf(request.url ?? '/')
      perKey.set(key, (perKey.get(key) ?? 0) + 1)
      requestIds.push(String(request.headers['x-request-id']))
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      const answered = (await answer?.(key, request)) ?? { status: 200, body: { id: key, status: 'active' } }
      response.writeHead(answered.status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(answered.body))
    } finally {
      inFlight.now -= 1
    }
  })
  return {
    ...upstream,
    perKey,
    inFlight,
    requestIds,
    arrivals,
    reset: () => {
      perKey.clear()
      requestIds.length = 0
      arrivals.length = 0
      upstream.requests.length = 0
      inFlight.max = 0
    },
  }
}

/** The reconciliation tests' config: slice `policy-status`, legacy `/policy/:id/status`, modern `/policies/:id`. */
export function reconcileConfig(
  legacyUrl: string,
  modernUrl: string,
  slice: Record<string, unknown> = {},
  extra: Partial<GatewayConfigInput> = {},
): GatewayConfigInput {
  return {
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: legacyUrl, timeoutMs: 2_000 }, modern: { url: modernUrl, timeoutMs: 2_000 } },
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' } }],
        shadow: { sample: 0 },
        ...slice,
      },
    },
    readiness: PERMISSIVE_READINESS,
    ...extra,
  }
}

export interface Workspace {
  readonly dir: string
  readonly dataDir: string
  readonly configFile: string
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
  writeConfig(config: GatewayConfigInput): Promise<void>
  /** Writes a file in the workspace and returns its path. */
  write(name: string, text: string): Promise<string>
  remove(): Promise<void>
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-reconcile-'))
  const dataDir = join(dir, 'data')
  const configFile = join(dir, 'reconcile.config.ts')
  return {
    dir,
    dataDir,
    configFile,
    env: (extra = {}) => ({
      FICUS_CONFIG: configFile,
      FICUS_DATA_DIR: dataDir,
      FICUS_HASH_SALT: 'reconcile-test-salt',
      LOG_LEVEL: 'silent',
      CI: 'true',
      ...extra,
    }),
    writeConfig: (config) => writeFile(configFile, `export default ${JSON.stringify(config)}\n`),
    write: async (name, text) => {
      await writeFile(join(dir, name), text)
      return join(dir, name)
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function collector(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8')
      done()
    },
  })
  return { stream, text: () => text }
}

/** Runs `ficus <args>` in this process (the CLI's own entry), with its output collected. */
export async function ficus(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { stdin?: string; signal?: AbortSignal; cwd?: string } = {},
): Promise<CliRun> {
  const stdout = collector()
  const stderr = collector()
  const code = await main(args, {
    env,
    stdout: stdout.stream,
    stderr: stderr.stream as unknown as NodeJS.WriteStream,
    cwd: options.cwd ?? process.cwd(),
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

/** Keys `P-00001` … */
export function keyList(count: number, prefix = 'P-'): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${String(index + 1).padStart(5, '0')}`)
}
