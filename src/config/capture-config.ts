import type { ConfigIssue } from '../errors/errors.ts'
import { DEFAULT_CAPTURE_MAX_BYTES, DEFAULT_CAPTURE_PERCENT, DEFAULT_CAPTURE_RETENTION_HOURS, DEFAULT_CAPTURE_STORE } from './defaults.ts'
import { formatPath } from './schema-errors.ts'
import type { CaptureInput, GatewayConfigInput } from './schema.ts'
import type { CaptureConfig, GatewayConfig, ShadowConfig } from './types.ts'

// Captured pairs of routes.config.ts: the bounds are the schema's (percent, retention, bytes); here
// the defaults and the one rule a schema cannot say — only a shadowed slice has pairs to capture.

export function resolveCapture(
  input: CaptureInput | undefined,
  shadow: ShadowConfig | null,
  at: (string | number)[],
  issues: ConfigIssue[],
): CaptureConfig | null {
  if (input === undefined) return null
  if (shadow === null) {
    issues.push({ path: formatPath(at), message: 'needs a shadow section: only shadowed requests have two answers to capture' })
    return null
  }
  return {
    sampleBasisPoints: Math.round((input.percent ?? DEFAULT_CAPTURE_PERCENT) * 100),
    retentionHours: input.retentionHours ?? DEFAULT_CAPTURE_RETENTION_HOURS,
    maxBytes: input.maxBytes ?? DEFAULT_CAPTURE_MAX_BYTES,
  }
}

export function resolveCaptureSettings(input: GatewayConfigInput['capture']): GatewayConfig['capture'] {
  return { store: input?.store ?? DEFAULT_CAPTURE_STORE }
}
