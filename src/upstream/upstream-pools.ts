import type { ConnectionOptions } from 'node:tls'
import { Pool, type Dispatcher } from 'undici'
import type { UpstreamConfig } from '../config/types.ts'
import { releaseControllerAtEnd } from './release-controller.ts'

/** An upstream's TLS settings as Node's TLS options (empty for http or Node's defaults). */
export function tlsOptions(config: UpstreamConfig): ConnectionOptions {
  const tls = config.tls
  if (!tls) return {}
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    rejectUnauthorized: tls.rejectUnauthorized,
  }
}

export interface UpstreamClient {
  readonly config: UpstreamConfig
  /** The upstream's connection pool, through which every call lets go of undici's per-call state when it ends (release-controller.ts). */
  readonly pool: Dispatcher
}

/** One undici connection pool per upstream, sized and timed as the config says. */
export class UpstreamPools {
  readonly #clients = new Map<string, UpstreamClient>()
  readonly #pools: Pool[] = []

  constructor(upstreams: ReadonlyMap<string, UpstreamConfig>) {
    for (const config of upstreams.values()) {
      const pool = new Pool(config.origin, {
        connections: config.connections,
        connectTimeout: config.connectTimeoutMs,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.bodyTimeoutMs,
        // undici 8 would negotiate HTTP/2 with a TLS upstream that offers it; the proxy's header
        // handling (hop-by-hop fields, Transfer-Encoding, Connection) is HTTP/1.1's, so stay there.
        allowH2: false,
        connect: tlsOptions(config),
      })
      this.#pools.push(pool)
      this.#clients.set(config.name, { config, pool: pool.compose(releaseControllerAtEnd) })
    }
  }

  /** The client of a validated upstream name; a missing one is a wiring bug, not bad input. */
  get(name: string): UpstreamClient {
    const client = this.#clients.get(name)
    if (!client) throw new Error(`no pool for upstream "${name}": config was not validated`)
    return client
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.close()))
  }

  /** Drops every connection at once (when graceful close ran out of time). */
  async destroy(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.destroy()))
  }
}
