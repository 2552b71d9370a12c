import { Redis } from 'ioredis'
import type { IdDirection, IdentityStore, IdPair, ImportResult } from './identity-store.ts'

/** Pairs written per script call: one round trip for many, without holding Redis long. */
const BATCH = 500

// Adds pairs one-to-one: a pair is written (both directions) only when neither id is mapped to
// another. Returns, per pair, 1 added, 0 already there, or the clashing pair as "legacy\nmodern".
const ADD_LUA = `
local out = {}
for i = 1, #ARGV, 2 do
  local legacy, modern = ARGV[i], ARGV[i + 1]
  local known = redis.call('HGET', KEYS[1], legacy)
  local back = redis.call('HGET', KEYS[2], modern)
  if known == modern and back == legacy then
    out[#out + 1] = 0
  elseif known and known ~= modern then
    out[#out + 1] = legacy .. '\\n' .. known
  elseif back and back ~= legacy then
    out[#out + 1] = back .. '\\n' .. modern
  else
    redis.call('HSET', KEYS[1], legacy, modern)
    redis.call('HSET', KEYS[2], modern, legacy)
    out[#out + 1] = 1
  end
end
return out
`

export interface RedisIdentityOptions {
  readonly url: string
  readonly prefix: string
  readonly name: string
  /**
   * Longest wait for one command (imports, counts). None for lookups: the caller bounds its wait, and
   * a command left to settle when Redis answers is what lets the caller count those still pending.
   */
  readonly commandTimeoutMs?: number
}

/**
 * An identity map shared through Redis: the hashes `<prefix>ids:<name>:to-modern` (legacy id → new
 * id) and `<prefix>ids:<name>:to-legacy`, which the systems that create entities write as they go
 * (both hashes, in one MULTI). Never queues a command while disconnected: a lookup fails at once.
 */
export class RedisIdentityStore implements IdentityStore {
  readonly kind = 'redis'
  readonly #client: Redis
  readonly #keys: Readonly<Record<IdDirection, string>>

  constructor(options: RedisIdentityOptions) {
    this.#keys = { 'to-modern': redisKey(options.prefix, options.name, 'to-modern'), 'to-legacy': redisKey(options.prefix, options.name, 'to-legacy') }
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
      retryStrategy: (attempt: number) => Math.min(2_000, 100 * 2 ** attempt),
    })
    // Failures reach the caller as failed lookups (counted); the connection retries by itself.
    this.#client.on('error', () => undefined)
  }

  async open(): Promise<void> {
    // Never blocks a start: lookups fail (and are counted) until Redis answers.
    await this.#client.connect().catch(() => undefined)
  }

  get(direction: IdDirection, id: string): Promise<string | null> {
    return this.#client.hget(this.#keys[direction], id)
  }

  count(): Promise<number> {
    return this.#client.hlen(this.#keys['to-modern'])
  }

  async add(pairs: readonly IdPair[]): Promise<ImportResult> {
    let added = 0
    let unchanged = 0
    const conflicts: { pair: IdPair; existing: IdPair }[] = []
    for (let start = 0; start < pairs.length; start += BATCH) {
      const batch = pairs.slice(start, start + BATCH)
      let answers: (number | string)[]
      try {
        answers = (await this.#client.eval(
          ADD_LUA,
          2,
          this.#keys['to-modern'],
          this.#keys['to-legacy'],
          ...batch.flatMap((pair) => [pair.legacy, pair.modern]),
        )) as (number | string)[]
      } catch (err) {
        // The batch may or may not have run: importing the same pairs again is safe (those there are skipped).
        throw new Error(`${(err as Error).message}, after ${added} pair(s) were added and ${unchanged} found already there; import again to finish`, {
          cause: err,
        })
      }
      answers.forEach((answer, at) => {
        const pair = batch[at] as IdPair
        if (answer === 1) added += 1
        else if (answer === 0) unchanged += 1
        else {
          const [legacy = '', modern = ''] = String(answer).split('\n')
          conflicts.push({ pair, existing: { legacy, modern } })
        }
      })
    }
    return { added, unchanged, conflicts }
  }

  close(): Promise<void> {
    this.#client.disconnect()
    return Promise.resolve()
  }
}

/** The Redis hash of one direction of an identity map (documented: creating systems write it). */
export function redisKey(prefix: string, name: string, direction: IdDirection): string {
  return `${prefix}ids:${name}:${direction}`
}
