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
})
