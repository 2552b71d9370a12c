import { performance } from 'node:perf_hooks'
import type { ResponseSnapshot } from '../compare/compare-responses.ts'
import { viewBody, type CapturedBody } from '../compare/decode-body.ts'
import type { Headers } from '../http/hop-by-hop.ts'
import { sha256 } from './body-capture.ts'

/** Gateway time spent on a comparison (decoding, translating, judging), not waiting for upstreams. */
export class ProcessingClock {
  ms = 0

  time<T>(work: () => T): T {
    const started = performance.now()
    try {
      return work()
    } finally {
      this.ms += performance.now() - started
    }
  }

  async timeAsync<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.ms += performance.now() - started
    }
  }
}

/** An answer as the comparer reads it: its body decoded (at most `maxDecoded` bytes). */
export async function snapshot(answer: { status: number; headers: Headers; body: CapturedBody }, maxDecoded: number): Promise<ResponseSnapshot> {
  return { status: answer.status, headers: answer.headers, body: await viewBody(answer.body, answer.headers, maxDecoded, sha256) }
}
