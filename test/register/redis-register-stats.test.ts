import { afterAll, describe, expect, it } from 'vitest'
import { RedisDiscrepancyRegister } from '../../src/register/redis-discrepancy-register.ts'
import { comparison } from '../helpers/generated-comparisons.ts'
import { capturingLogger } from '../helpers/logs.ts'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts'

const prefix = uniquePrefix()
afterAll(() => dropPrefix(prefix))

describe('the register stats a Kafka+Redis gateway shows on its dashboard', () => {
  it('follow what the reporter writes to the shared register', async () => {
    // The gateway opens the shared register and, with Kafka and Redis, never feeds it.
    const gateway = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix, logger: capturingLogger().logger })
    await gateway.open()
    // The reporter feeds it from the comparisons topic.
    const reporter = new RedisDiscrepancyRegister({ url: REDIS_URL, prefix, logger: capturingLogger().logger })
    await reporter.open()
    for (let i = 0; i < 25; i++) reporter.record(comparison({ category: 'body-mismatch', diffPaths: [`/body/f${i}`] }))
    await reporter.flush()
    expect((await gateway.list({ limit: 100 })).length).toBe(25)
    // GET /admin/discrepancies/backlog answers `register: deps.register.stats()`: "N signature(s) in the register".
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(gateway.stats().signatures).toBe(25)
    await reporter.close()
    await gateway.close()
  })
})
