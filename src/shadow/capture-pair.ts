import { CAPTURE_FORMAT_VERSION, type CapturedAnswer, type CapturedPair } from '../capture/captured-pair.ts'
import type { Comparison } from '../compare/comparison.ts'
import type { Side } from '../config/schema.ts'
import { endToEndHeaders } from '../http/hop-by-hop.ts'
import type { SideResult } from './comparison-record.ts'
import type { ShadowRequest, ShadowResult } from './shadow-run.ts'

type Answered = Extract<SideResult, { ok: true }> | Extract<ShadowResult, { ok: true }>

function capturedAnswer(answer: Answered): CapturedAnswer {
  const { body } = answer
  return {
    status: answer.status,
    headers: endToEndHeaders(answer.headers),
    body: body.bytes.toString('base64'),
    complete: body.complete,
    length: body.length,
    sha256: body.sha256,
  }
}

/**
 * The pair to capture of a shadowed request whose two sides answered: the authoritative answer and
 * the shadow answer the verdict rests on (after re-asks), with the comparison published for them.
 */
export function capturedPairOf(request: ShadowRequest, primary: Answered, shadow: Answered, comparison: Comparison, capturedAt: Date): CapturedPair {
  const answers = { [request.primarySide]: capturedAnswer(primary), [otherSide(request.primarySide)]: capturedAnswer(shadow) } as Record<Side, CapturedAnswer>
  return {
    version: CAPTURE_FORMAT_VERSION,
    capturedAt: capturedAt.toISOString(),
    slice: request.slice.id,
    route: comparison.route,
    method: request.method,
    primarySide: request.primarySide,
    legacy: answers.legacy,
    modern: answers.modern,
    comparison,
  }
}

function otherSide(side: Side): Side {
  return side === 'legacy' ? 'modern' : 'legacy'
}
