import { describe, expect, it } from 'vitest'
import { runProgress } from '../../src/reconcile/run-progress.ts'

function stream(isTTY: boolean): { isTTY: boolean; text: string; write(text: string): boolean } {
  return {
    isTTY,
    text: '',
    write(text: string) {
      this.text += text
      return true
    },
  }
}

const at = (done: number, elapsedMs: number) => ({ done, total: 1000, errors: 2, doneThisSession: done, elapsedMs })

describe('reconciliation progress', () => {
  it('redraws one line on a terminal: done/total, %, rate, ETA, errors', () => {
    let now = 0
    const out = stream(true)
    const progress = runProgress(out, () => now)
    now = 1_000
    progress.update(at(250, 2_500))
    now = 1_050
    progress.update(at(260, 2_600)) // within 100 ms: not redrawn
    progress.end()
    expect(out.text).toBe('\r\x1b[2K[######..................] 250/1000 25% 100.0/s ETA 8s errors 2\r\x1b[2K')
  })

  it('writes a plain line at each tenth and every 10 s otherwise, never a control sequence', () => {
    let now = 0
    const out = stream(false)
    const progress = runProgress(out, () => now)
    for (let done = 1; done <= 1000; done += 1) {
      now = done * 5
      progress.update(at(done, now))
    }
    const lines = out.text.trim().split('\n')
    expect(lines).toHaveLength(11)
    expect(lines[1]).toBe('progress 100/1000 (10%) 200.0 keys/s, ETA 5s, errors 2')
    expect(lines.at(-1)).toBe('progress 1000/1000 (100%) 200.0 keys/s, ETA 0s, errors 2')
    out.text = ''
    now += 10_001
    progress.update(at(1000, now))
    expect(out.text).toMatch(/^progress 1000\/1000/)
    expect(out.text).not.toContain('\r')
  })
})
