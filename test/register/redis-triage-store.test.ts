import { afterEach, describe, expect, it } from 'vitest'
import { RedisTriageStore } from '../../src/register/redis-triage-store.ts'
import { ficusErrorCode } from '../helpers/errors.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { dropPrefix, REDIS_URL, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.ts'
import { poll } from '../helpers/wait.ts'

const opened: RedisTriageStore[] = []
let privateRedis: PrivateRedis | undefined
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close()
  await privateRedis?.stop()
  privateRedis = undefined
})

async function store(url: string, prefix: string, instance: string): Promise<RedisTriageStore> {
  const triage = new RedisTriageStore({ url, prefix, instance, logger: capturingLogger().logger })
  opened.push(triage)
  await triage.open()
  return triage
}

describe('triage shared through Redis', () => {
  it('is the same on every instance, and concurrent actions on one signature all land in order, none lost', async () => {
    const prefix = uniquePrefix()
    const a = await store(REDIS_URL, prefix, 'gw-a')
    const b = await store(REDIS_URL, prefix, 'gw-b')
    await a.act({ signature: 'sig-1', action: 'assign', assignee: 'bo@claims', actor: 'ana', reason: 'looking' })
    expect((await b.statuses(['sig-1', 'sig-2'])).get('sig-1')).toMatchObject({ state: 'investigating', assignee: 'bo@claims', actor: 'ana' })
    expect((await b.statuses(['sig-2'])).get('sig-2')).toMatchObject({ state: 'open', since: null })

    // Ten actions at once from two instances: each one is applied to the status the one before left.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).act({ signature: 'sig-1', action: i % 2 === 0 ? 'wont-fix' : 'reopen', actor: `p${i}`, reason: `r${i}` }),
      ),
    )
    const history = await a.history({ signature: 'sig-1', limit: 100 })
    expect(history).toHaveLength(11)
    const last = history[0]!
    expect((await a.statuses(['sig-1'])).get('sig-1')).toMatchObject({
      state: last.action === 'wont-fix' ? 'wont-fix' : 'open',
      actor: last.actor,
      assignee: null,
    })
    expect(await b.history({ limit: 3 })).toHaveLength(3)
    await dropPrefix(prefix)
  })

  it('refuses reads and actions with FICUS_ERR_REGISTER_UNAVAILABLE while Redis is away, and works again once it is back', async () => {
    privateRedis = await startPrivateRedis()
    const triage = await store(privateRedis.url, uniquePrefix(), 'gw-a')
    await triage.act({ signature: 'sig-1', action: 'wont-fix', actor: 'ana', reason: 'before the outage' })
    await privateRedis.stop()
    expect(await ficusErrorCode(triage.act({ signature: 'sig-1', action: 'reopen', actor: 'ana', reason: 'during' }))).toBe('FICUS_ERR_REGISTER_UNAVAILABLE')
    expect(await ficusErrorCode(triage.statuses(['sig-1']))).toBe('FICUS_ERR_REGISTER_UNAVAILABLE')
    await privateRedis.start()
    const back = await poll(
      () => triage.statuses(['sig-1']).catch(() => undefined),
      (found) => found !== undefined,
      { timeoutMs: 10_000 },
    )
    expect(back?.get('sig-1')).toMatchObject({ state: 'wont-fix', reason: 'before the outage' })
  })
})
