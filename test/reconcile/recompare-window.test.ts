import { describe, expect, it } from 'vitest'
import { parseWindow } from '../../src/cli/recompare-command.ts'

// Found in review: a window too long for a date (`--since 999999999d`) was taken as an invalid
// date and crashed `ficus recompare` with a RangeError and a stack trace (exit 1), and a day that
// does not exist (`2026-02-31`) silently meant another one (3 March).

const NOW = new Date('2026-12-07T12:00:00Z')

describe('recompare windows out of the calendar', () => {
  it.each([['999999999d'], ['99999999999999999999m'], ['2026-02-31'], ['2026-04-31T10:00:00Z']])('refuses --since %s as a usage error', (since) => {
    expect(() => parseWindow(since, undefined, NOW)).toThrow(expect.objectContaining({ code: 'FICUS_ERR_CLI_USAGE' }))
  })

  it('refuses such an --until too, and still takes a real leap day', () => {
    expect(() => parseWindow('2025-01-01', '2026-02-29', NOW)).toThrow(expect.objectContaining({ code: 'FICUS_ERR_CLI_USAGE' }))
    expect(parseWindow('2024-02-29', undefined, NOW).since).toEqual(new Date('2024-02-29T00:00:00Z'))
    expect(parseWindow('2026-11-23T23:30:00-05:00', undefined, NOW).since).toEqual(new Date('2026-11-24T04:30:00Z'))
    expect(parseWindow('2026-11-24T00:30:00+05:30', undefined, NOW).since).toEqual(new Date('2026-11-23T19:00:00Z'))
  })
})
