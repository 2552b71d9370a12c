import { createHash } from 'node:crypto'
import { request } from 'node:http'
import type { CapturedAnswer, CapturedPair } from '../../src/capture/captured-pair.ts'
import type { Comparison } from '../../src/compare/comparison.ts'
import { CAPTURE_FORMAT_VERSION } from '../../src/capture/captured-pair.ts'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection'])

/** A real HTTP answer as a capture keeps it: status, headers (hop-by-hop removed), the body's bytes and hash. */
export async function capturedAnswer(url: string): Promise<CapturedAnswer> {
  return await new Promise((resolve, reject) => {
    request(url, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        const body = Buffer.concat(chunks)
        const headers: Record<string, string | string[]> = {}
        for (const [name, value] of Object.entries(response.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value
        resolve({
          status: response.statusCode ?? 0,
          headers,
          body: body.toString('base64'),
          complete: true,
          length: body.length,
          sha256: `sha256:${createHash('sha256').update(body).digest('hex')}`,
        })
      })
    })
      .on('error', reject)
      .end()
  })
}

/** The captured pair of a comparison the gateway published, with both answers (legacy authoritative unless said). */
export function capturedPair(comparison: Comparison, legacy: CapturedAnswer, modern: CapturedAnswer): CapturedPair {
  return {
    version: CAPTURE_FORMAT_VERSION,
    capturedAt: comparison.eventTime,
    slice: comparison.slice,
    route: comparison.route,
    method: comparison.method,
    primarySide: comparison.primary.side,
    legacy,
    modern,
    comparison,
  }
}

/** Pairs as the capture reader yields them. */
export async function* pairsOf(pairs: readonly CapturedPair[]): AsyncIterable<CapturedPair> {
  for (const pair of pairs) {
    await Promise.resolve()
    yield pair
  }
}
