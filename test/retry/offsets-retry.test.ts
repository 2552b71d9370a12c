import { describe, expect, it } from 'vitest'
import { OFFSETS_ATTEMPTS, retryRetriable } from '../../src/kafka/kafkajs-client.ts'

// The broker's "not the leader for that topic-partition" right after a topic was created failed a
// replay's read of captured pairs at once (kafkajs's admin gives that error up); it is asked again.
const notLeader = (): Error =>
  Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true, type: 'NOT_LEADER_FOR_PARTITION' })

describe('offsets asked again after a retriable refusal', () => {
  it('answers once the leader has taken over, after waiting between attempts', async () => {
    const waits: number[] = []
    let calls = 0
    const answer = await retryRetriable(
      () => {
        calls += 1
        return calls < 3 ? Promise.reject(notLeader()) : Promise.resolve('offsets')
      },
      (ms) => {
        waits.push(ms)
        return Promise.resolve()
      },
    )
    expect(answer).toBe('offsets')
    expect(calls).toBe(3)
    expect(waits).toHaveLength(2)
    expect(waits[1]!).toBeGreaterThan(waits[0]! - 100)
  })

  it('gives up after its attempts with the broker’s error, and at once on an error that is not retriable', async () => {
    let calls = 0
    await expect(
      retryRetriable(
        () => {
          calls += 1
          return Promise.reject(notLeader())
        },
        () => Promise.resolve(),
      ),
    ).rejects.toThrow('not the leader')
    expect(calls).toBe(OFFSETS_ATTEMPTS)
    calls = 0
    await expect(
      retryRetriable(
        () => {
          calls += 1
          return Promise.reject(Object.assign(new Error('Topic authorization failed'), { retriable: false }))
        },
        () => Promise.resolve(),
      ),
    ).rejects.toThrow('authorization')
    expect(calls).toBe(1)
  })
})
