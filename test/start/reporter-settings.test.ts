import { describe, expect, it } from 'vitest'
import { readReporterSettings } from '../../src/app/settings.ts'

describe('ficus reporter settings', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:9092' }

  it('names the instance (its Kafka client id is ficus-reporter-<instance>) and bounds stalls and restarts', () => {
    expect(readReporterSettings({ ...base, FICUS_INSTANCE_ID: 'r-2' }, { isTTY: false })).toMatchObject({ instance: 'r-2', stallMs: 30_000, maxRestarts: 5 })
    expect(readReporterSettings({ ...base, FICUS_REPORTER_STALL_MS: '5000', FICUS_REPORTER_MAX_RESTARTS: '0' }, { isTTY: false })).toMatchObject({
      stallMs: 5_000,
      maxRestarts: 0,
    })
  })

  it('refuses a bad value and names the variable', () => {
    expect(() => readReporterSettings({ ...base, FICUS_REPORTER_MAX_RESTARTS: '-1' }, { isTTY: false })).toThrow(
      'FICUS_REPORTER_MAX_RESTARTS: must be a whole number ≥ 0',
    )
    expect(() => readReporterSettings({ ...base, FICUS_INSTANCE_ID: 'a b' }, { isTTY: false })).toThrow('FICUS_INSTANCE_ID')
  })
})
