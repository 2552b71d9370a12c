import { Redis } from 'ioredis'
import { parseAuthority, type Authority } from '../model/authority-value.ts'
import { readAuthorityFile } from './authority-file.ts'
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_CONNECT_TIMEOUT_MS } from './redis-authority-store.ts'

/** A slice's authority as a store holds it, read once: what a run off the request path routes by. */
export interface StoredAuthority {
  readonly authority: Authority
  readonly version: number
  readonly changeId: string | null
}

/**
 * Reads one slice's authority without opening a store: the Redis hash's field (REDIS_URL) or the
 * data directory's authority file. Nothing is written — unlike a store's open, which may repair
 * Redis from its snapshot. Undefined when the store holds nothing for the slice (its config's
 * initial value is then in force).
 */
export async function readStoredAuthority(
  where: { readonly redisUrl: string | undefined; readonly redisPrefix: string; readonly file: string },
  sliceId: string,
): Promise<StoredAuthority | undefined> {
  if (where.redisUrl === undefined) {
    const saved = (await readAuthorityFile(where.file))?.[sliceId]
    return saved ? { authority: saved.authority, version: saved.version, changeId: saved.changeId ?? null } : undefined
  }
  const client = new Redis(where.redisUrl, {
    lazyConnect: true,
    connectTimeout: DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: DEFAULT_REDIS_COMMAND_TIMEOUT_MS * 5,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const raw = await client.hget(`${where.redisPrefix}authority`, sliceId)
    if (raw === null) return undefined
    const data = JSON.parse(raw) as { authority?: unknown; version?: unknown; changeId?: unknown }
    const parsed = parseAuthority(data.authority)
    if (!parsed.ok || !Number.isInteger(data.version)) return undefined
    return { authority: parsed.authority, version: data.version as number, changeId: typeof data.changeId === 'string' ? data.changeId : null }
  } finally {
    client.disconnect()
  }
}
