import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { GatewayConfig } from '../../src/config/types.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type RunningGateway } from '../../src/app/start-gateway.ts'
import { readSettings } from '../../src/app/settings.ts'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { capturingLogger } from './logs.ts'
import { startUpstream, type Handler, type TestUpstream } from './upstream-server.ts'

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
  const settings = readSettings(
    { PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: '0', FICUS_DATA_DIR: dataDir, FICUS_INSTANCE_ID: options.instance ?? 'test-gw', ...options.env },
    { isTTY: false },
  )
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

/** What gatewayWithUpstreams starts: read its fields inside tests, once beforeAll has run. */
export interface GatewayWithUpstreams {
  readonly legacy: TestUpstream
  readonly modern: TestUpstream
  readonly gateway: TestGateway
}

/**
 * The tests' usual set-up, for the enclosing file or describe block: a `legacy` and a `modern`
 * upstream (with the given handlers, echoing otherwise) and a gateway in front of them, started
 * before its tests and closed after them. `config` builds the gateway's config from the two
 * upstream URLs (default: sampleConfig); the upstreams' recorded requests are cleared after each test.
 */
export function gatewayWithUpstreams(
  options: {
    readonly config?: (legacyUrl: string, modernUrl: string) => GatewayConfigInput
    readonly legacy?: Handler
    readonly modern?: Handler
    readonly gateway?: Parameters<typeof startTestGateway>[1]
  } = {},
): GatewayWithUpstreams {
  const fixture = {} as { legacy: TestUpstream; modern: TestUpstream; gateway: TestGateway }
  beforeAll(async () => {
    fixture.legacy = await startUpstream('legacy', options.legacy)
    fixture.modern = await startUpstream('modern', options.modern)
    fixture.gateway = await startTestGateway((options.config ?? sampleConfig)(fixture.legacy.url, fixture.modern.url), options.gateway)
  })
  afterEach(() => {
    fixture.legacy.requests.length = 0
    fixture.modern.requests.length = 0
  })
  afterAll(async () => {
    await fixture.gateway?.stop()
    await fixture.legacy?.close()
    await fixture.modern?.close()
  })
  return fixture
}
