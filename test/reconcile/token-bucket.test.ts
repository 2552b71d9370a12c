import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { TokenBucket } from '../../src/reconcile/token-bucket.ts'

describe('the reconciliation token bucket', () => {
  it('waits for a token of a very slow rate without spinning (no timer overflow)', async () => {
    let warnings = 0
    const count = (): void => void (warnings += 1)
    process.on('warning', count)
    const controller = new AbortController()
    try {
      const bucket = new TokenBucket(1e-9, 1)
      await bucket.take(controller.signal)
      const second = bucket.take(controller.signal).catch(() => 'stopped')
      await sleep(200)
      controller.abort()
      expect(await second).toBe('stopped')
    } finally {
      process.off('warning', count)
    }
    expect(warnings).toBe(0)
  })

  it('hands out no more than the rate in the first second: the bucket does not start full', async () => {
    const bucket = new TokenBucket(10, 8)
    const controller = new AbortController()
    const started = performance.now()
    const times: number[] = []
    const takers = Array.from({ length: 14 }, () =>
      bucket
        .take(controller.signal)
        .then(() => times.push(performance.now() - started))
        .catch(() => undefined),
    )
    await sleep(1_200)
    controller.abort()
    await Promise.all(takers)
    expect(times.filter((time) => time < 1_000).length).toBeLessThanOrEqual(10)
    expect(times.length).toBeGreaterThanOrEqual(11)
  })
})
