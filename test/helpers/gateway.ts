import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { GatewayConfig } from '../../src/config/types.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type RunningGateway } from '../../src/app/start-gateway.ts'
import { readSettings } from '../../src/app/settings.ts'
import { capturingLogger } from './logs.ts'

export interface TestGateway extends RunningGateway {
  /** Every JSON log line the gateway wrote. */
  readonly logs: Record<string, unknown>[]
  readonly dataDir: string
  /** Closes the gateway and removes its data directory (unless `keepData`). */
  stop(options?: { keepData?: boolean }): Promise<void>
}

/** Starts a real gateway on 127.0.0.1 with an ephemeral port, the file store in a temp dir, logs captured. */
export async function startTestGateway(
  input: GatewayConfigInput | GatewayConfig,
  options: { dataDir?: string; logLevel?: 'info' | 'debug'; instance?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ficus-test-')))
  const { logger, lines: logs } = capturingLogger(options.logLevel)
  const settings = readSettings({ PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: '0', FICUS_DATA_DIR: dataDir, FICUS_INSTANCE_ID: options.instance ?? 'test-gw', ...options.env }, { isTTY: false })
  const config = 'upstreams' in input && input.upstreams instanceof Map ? (input as GatewayConfig) : validateConfig(input)
  const running = await startGateway(settings, { logger, config })
  return {
    ...running,
    logs,
    dataDir,
    stop: async ({ keepData = false } = {}) => {
      await running.close()
      if (!keepData) await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Readiness that any slice meets: tests that are not about the readiness guard flip freely. The
 * guard's own tests set real thresholds.
 */
export const PERMISSIVE_READINESS = { minSamples: 0, minMatchRate: 0, maxConflictRate: 100, maxShadowErrorRate: 100, latency: false, minSoakHours: 0 } as const

/** A minimal valid config around the given upstream URLs: one slice `policy-status` with a rewrite, permissive readiness. */
export function sampleConfig(legacyUrl: string, modernUrl: string, overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: legacyUrl, timeoutMs: 2_000 }, modern: { url: modernUrl, timeoutMs: 2_000 } },
    slices: {
      'policy-status': {
        description: 'Is the policy in force?',
        authority: 'legacy',
        routes: [{ method: 'GET', path: '/policy/:id/status', rewrite: { modern: '/policies/:id' } }],
      },
    },
    readiness: PERMISSIVE_READINESS,
    ...overrides,
  }
}
