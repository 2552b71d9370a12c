import { describe, expect, it } from 'vitest'
import { reaskUntilConverged, reaskWaits } from '../../src/shadow/reask.ts'

describe('re-asking a mismatching read', () => {
  it('waits on a backoff schedule that ends at the maximum', () => {
    expect(reaskWaits({ delayMs: 150, factor: 2, maxMs: 2_000 })).toEqual([150, 300, 600, 950])
    expect(reaskWaits({ delayMs: 150, factor: 1, maxMs: 150 })).toEqual([150])
  })

  it('measures the lag until the other side converged, and gives up at the maximum', async () => {
    let calls = 0
    const converged = await reaskUntilConverged(
      { delayMs: 10, factor: 2, maxMs: 200 },
      () => Promise.resolve(++calls),
      (answer) => answer >= 3,
    )
    expect(converged.converged).toBe(3)
    expect(converged.reasks).toBe(3)
    // 10 + 20 + 40 ms of waiting at least.
    expect(converged.lagMs).toBeGreaterThanOrEqual(69)
    const never = await reaskUntilConverged(
      { delayMs: 10, factor: 2, maxMs: 50 },
      () => Promise.resolve(0),
      () => false,
    )
    expect(never).toMatchObject({ converged: undefined, lagMs: null, reasks: 3 })
  })
})
