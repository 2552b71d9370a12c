import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sampleConfig } from './gateway.ts'
import { send } from './http-client.ts'
import { FICUS_BIN, spawnNode, type Finished, type Spawned } from './processes.ts'

/** A real `ficus start` process with a shadowed slice, its data directory and its two addresses. */
export interface GatewayProcess {
  readonly spawned: Spawned
  readonly pid: number
  readonly url: string
  readonly adminUrl: string
  readonly dataDir: string
}

/**
 * Writes `routes.config.ts` in `dir` (slice `policy-status`, shadowed, upstreams as given, the
 * shutdown timeout as given) and starts `bin/ficus.js start` on it with `env`; the data directory
 * is `dir/data`, kept between runs so a restart finds what the previous process left.
 */
export async function startGatewayProcess(options: {
  dir: string
  legacyUrl: string
  modernUrl: string
  shutdownTimeoutMs: number
  env: NodeJS.ProcessEnv
}): Promise<GatewayProcess> {
  const config = sampleConfig(options.legacyUrl, options.modernUrl, { gateway: { shutdownTimeoutMs: options.shutdownTimeoutMs } })
  config.slices['policy-status']!.shadow = {}
  const file = join(options.dir, 'routes.config.ts')
  await writeFile(file, `export default ${JSON.stringify(config)}\n`)
  const dataDir = join(options.dir, 'data')
  const spawned = spawnNode([FICUS_BIN, 'start', '--config', file], {
    PORT: '0',
    HOST: '127.0.0.1',
    FICUS_DATA_DIR: dataDir,
    FICUS_INSTANCE_ID: 'gw-process',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...options.env,
  })
  const listening = await spawned.logLine('gateway listening', 60_000)
  return { spawned, pid: spawned.child.pid ?? 0, url: String(listening.url), adminUrl: String(listening.adminUrl), dataDir }
}

/** Sends `count` requests, one after another, with request ids `<prefix>-<n>`; throws on any answer but 200. */
export async function drive(gateway: GatewayProcess, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`
    const response = await send(`${gateway.url}/policy/P-${i}/status`, { headers: { 'x-request-id': id } })
    if (response.status !== 200) throw new Error(`request ${id} answered ${response.status}`)
    ids.push(id)
  }
  return ids
}

/** One sample of the gateway's Prometheus metrics: `name{labels}` → value. */
export async function scrape(gateway: GatewayProcess): Promise<Map<string, number>> {
  const text = (await send(`${gateway.adminUrl}/metrics`)).body
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (match) values.set(match[1] as string, Number(match[2]))
  }
  return values
}

/** Sends `signal` and resolves with how the process ended and how long it took. */
export async function signalAndWait(gateway: GatewayProcess, signal: NodeJS.Signals): Promise<Finished & { elapsedMs: number }> {
  const started = performance.now()
  gateway.spawned.child.kill(signal)
  const finished = await gateway.spawned.finished
  return { ...finished, elapsedMs: performance.now() - started }
}

/** The comparisons waiting in an outbox directory: event id and request id of each, in order. */
export async function outboxComparisons(outboxDir: string): Promise<{ eventId: string; requestId: string }[]> {
  const found: { eventId: string; requestId: string }[] = []
  const names = (await readdir(outboxDir).catch(() => [] as string[])).filter((name) => name.startsWith('segment-')).sort()
  for (const name of names) {
    for (const line of (await readFile(join(outboxDir, name), 'utf8')).split('\n')) {
      if (line === '') continue
      const envelope = JSON.parse(line) as { s: string; i: string; v: string }
      if (envelope.s === 'comparisons') found.push({ eventId: envelope.i, requestId: String((JSON.parse(envelope.v) as { requestId: unknown }).requestId) })
    }
  }
  return found
}

/** The request ids of the comparisons waiting in an outbox directory. */
export async function outboxRequestIds(outboxDir: string): Promise<string[]> {
  return (await outboxComparisons(outboxDir)).map((comparison) => comparison.requestId)
}
