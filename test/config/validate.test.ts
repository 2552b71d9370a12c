import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.ts'
import { FicusError } from '../../src/errors/errors.ts'
import { sampleConfig } from '../helpers/gateway.ts'

const LEGACY = 'http://127.0.0.1:4101'
const MODERN = 'http://127.0.0.1:4102'

function problems(input: unknown): string[] {
  try {
    validateConfig(input)
  } catch (err) {
    expect(err).toBeInstanceOf(FicusError)
    expect((err as FicusError).code).toBe('FICUS_ERR_CONFIG_INVALID')
    return ((err as FicusError).details.issues as { path: string; message: string }[]).map((issue) => `${issue.path}: ${issue.message}`)
  }
  throw new Error('expected the config to be rejected')
}

function withSlice(slice: Record<string, unknown>, id = 'policy-status'): Record<string, unknown> {
  const base = sampleConfig(LEGACY, MODERN)
  return { ...base, slices: { [id]: { ...base.slices['policy-status'], ...slice } } }
}

describe('config validation', () => {
  it('takes a slice owner (team and contact), null when none is named, and names what is wrong with one', () => {
    expect(validateConfig(sampleConfig(LEGACY, MODERN)).slices[0]?.owner).toBeNull()
    expect(validateConfig(withSlice({ owner: { team: 'claims', contact: '#claims' } })).slices[0]?.owner).toEqual({ team: 'claims', contact: '#claims' })
    expect(problems(withSlice({ owner: { team: '' } })).join('\n')).toMatch(/slices\.policy-status\.owner\.(team|contact)/)
    expect(problems(withSlice({ owner: { team: 'claims', contact: '#c', pager: 'x' } })).join('\n')).toContain('slices.policy-status.owner')
  })

  it('accepts a valid config and fills in documented defaults', () => {
    const config = validateConfig(sampleConfig(LEGACY, MODERN))
    expect(config.fallthrough).toBe('legacy')
    expect(config.responseHeaders).toEqual({ slice: true, authority: true })
    expect(config.upstreams.get('legacy')).toMatchObject({
      origin: LEGACY,
      basePath: '',
      connectTimeoutMs: 2_000,
      timeoutMs: 2_000,
      bodyTimeoutMs: 30_000,
      connections: 64,
    })
    expect(config.version).toMatch(/^sha256:[0-9a-f]{12}$/)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.slices[0]?.routes[0])).toBe(true)
  })

  it('names the slice that references an unknown upstream', () => {
    expect(problems(withSlice({ modern: { upstream: 'billing' } }))).toEqual([
      'slices.policy-status.modern.upstream: unknown upstream "billing" (declared: "legacy", "modern")',
    ])
  })

  it('rejects an unknown default upstream for a side', () => {
    expect(problems({ ...sampleConfig(LEGACY, MODERN), sides: { legacy: 'legacy', modern: 'nowhere' } })).toEqual([
      'sides.modern: unknown upstream "nowhere" (declared: "legacy", "modern")',
    ])
  })

  it('rejects two slices claiming the same method and path, whatever their parameter names', () => {
    const base = sampleConfig(LEGACY, MODERN)
    const input = {
      ...base,
      slices: {
        ...base.slices,
        'billing-eligibility': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:policyNumber/status' }] },
      },
    }
    expect(problems(input)).toEqual([
      'slices.billing-eligibility.routes[0]: GET /policy/:policyNumber/status is already claimed by slices.policy-status.routes[0]',
    ])
  })

  it('lets two slices share a path under different methods', () => {
    const base = sampleConfig(LEGACY, MODERN)
    const config = validateConfig({
      ...base,
      slices: { ...base.slices, 'claim-lodgement': { description: 'd', authority: 'legacy', routes: [{ method: 'POST', path: '/policy/:id/status' }] } },
    })
    expect(config.slices.map((slice) => slice.id)).toEqual(['policy-status', 'claim-lodgement'])
  })

  it('requires paths to start with "/"', () => {
    expect(problems(withSlice({ routes: [{ method: 'GET', path: 'policy/:id' }] }))).toEqual([
      'slices.policy-status.routes[0].path: must start with "/" (got "policy/:id")',
    ])
  })

  it('checks rewrite templates: syntax, and only parameters the route declares', () => {
    expect(
      problems(
        withSlice({
          routes: [
            { method: 'GET', path: '/a/:id', rewrite: { modern: '/b/:policyId' } },
            { method: 'GET', path: '/c/:id', rewrite: { legacy: 'c/:id' } },
            { method: 'GET', path: '/d/*/x' },
            { method: 'GET', path: '/e/:id/:id' },
          ],
        }),
      ),
    ).toEqual([
      'slices.policy-status.routes[0].rewrite.modern: uses ":policyId", which the route path "/a/:id" does not declare',
      'slices.policy-status.routes[1].rewrite.legacy: must start with "/" (got "c/:id")',
      'slices.policy-status.routes[2].path: "*" may only be the last segment',
      'slices.policy-status.routes[3].path: declares ":id" twice',
    ])
  })

  it('rejects an authority that is neither legacy nor modern', () => {
    expect(problems(withSlice({ authority: 'new' }))).toEqual([
      'slices.policy-status.authority: must be "legacy", "modern" or a percentage of modern traffic from "0%" to "100%" in steps of 0.01 (got "new")',
    ])
  })

  it('rejects an unknown method', () => {
    expect(problems(withSlice({ routes: [{ method: 'get', path: '/a' }] }))).toEqual([
      'slices.policy-status.routes[0].method: must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" (got "get")',
    ])
  })

  it('rejects upstream URLs that are not http(s), carry credentials or do not parse', () => {
    const base = sampleConfig(LEGACY, MODERN)
    expect(
      problems({
        ...base,
        upstreams: {
          legacy: { url: 'ftp://pas.example:21' },
          modern: { url: 'https://user:secret@policy.example' },
          other: { url: 'not a url' },
        },
      }),
    ).toEqual([
      'upstreams.legacy.url: must be an http:// or https:// URL (got "ftp")',
      'upstreams.modern.url: must not carry credentials; add them as a header from the environment instead',
      'upstreams.other.url: is not a valid URL (got "not a url")',
    ])
  })

  it('rejects unknown keys, naming the allowed ones', () => {
    const base = sampleConfig(LEGACY, MODERN)
    expect(problems({ ...base, upstreams: { ...base.upstreams, legacy: { url: LEGACY, timeout: 5 } } })).toEqual([
      'upstreams.legacy.timeout: unknown key (allowed: url, connectTimeoutMs, timeoutMs, bodyTimeoutMs, connections, breaker, retry, tls)',
    ])
    expect(problems({ ...base, routez: [] })[0]).toBe(
      'routez: unknown key (allowed: name, version, gateway, sides, upstreams, slices, identityMaps, readiness, capture)',
    )
  })

  it('reports a missing required field and a wrong type', () => {
    expect(problems(withSlice({ description: undefined, routes: 'GET /a' }))).toEqual([
      'slices.policy-status.description: is required',
      'slices.policy-status.routes: must be a list (got "GET /a")',
    ])
  })

  it('rejects values out of range with the bound', () => {
    const base = sampleConfig(LEGACY, MODERN)
    expect(problems({ ...base, upstreams: { ...base.upstreams, modern: { url: MODERN, connections: 0, timeoutMs: 1.5 } } })).toEqual([
      'upstreams.modern.timeoutMs: must be a whole number (got 1.5)',
      'upstreams.modern.connections: must be at least 1 (got 0)',
    ])
  })

  it('takes the skip aggregates interval within its bounds', () => {
    const base = sampleConfig(LEGACY, MODERN)
    expect(validateConfig({ ...base, gateway: { shadow: { skipsIntervalMs: 2_000 } } }).shadowLimits.skipsIntervalMs).toBe(2_000)
    expect(problems({ ...base, gateway: { shadow: { skipsIntervalMs: 10 } } })).toEqual(['gateway.shadow.skipsIntervalMs: must be at least 100 (got 10)'])
    expect(problems({ ...base, gateway: { shadow: { skipsIntervalMs: 7_200_000 } } })).toHaveLength(1)
  })

  it('fills in readiness thresholds: defaults, gateway-wide values, slice overrides', () => {
    const base = withSlice({ readiness: { minSamples: 50, latency: { maxRatio: 2 }, maxLagP95Ms: 500 } })
    const config = validateConfig({ ...base, readiness: { minMatchRate: 98, latency: { percentile: 99 }, windowDays: 3, maxSourceDataDefectRate: 2 } })
    expect(config.slices[0]?.readiness).toEqual({
      minSamples: 50,
      minMatchRatePercent: 98,
      maxConflictRatePercent: 0,
      maxTranslationDefectRatePercent: 0,
      maxSourceDataDefectRatePercent: 2,
      maxNotComparedRatePercent: 5,
      maxShadowErrorRatePercent: 1,
      maxLagRatePercent: 5,
      maxLagP95Ms: 500,
      latencyPercentile: 99,
      maxLatencyRatio: 2,
      minSoakHours: 24,
      windowDays: 3,
      maxOpenConflictAgeDays: 7,
    })
  })

  it('rejects slice ids that are not kebab-case and header rewrites of gateway-managed fields', () => {
    const base = sampleConfig(LEGACY, MODERN)
    const input = {
      ...base,
      slices: {
        PolicyStatus: {
          description: 'd',
          authority: 'legacy',
          routes: [{ method: 'GET', path: '/a' }],
          legacy: { headers: { add: { Connection: 'close', 'x-ok': 'line\nbreak' }, remove: ['x-request-id', 'bad header'] } },
          // The proxy drops these itself: a slice cannot add them either (regression: the list
          // the validator used had drifted from the proxy's).
          modern: { headers: { add: { 'Proxy-Authorization': 'Basic x', 'x-forwarded-port': '443' }, remove: ['Forwarded'] } },
        },
      },
    }
    expect(problems(input)).toEqual([
      'slices.PolicyStatus: slice id must be kebab-case: lower-case letters and digits separated by "-" (at most 64), named after the business decision',
      'slices.PolicyStatus.legacy.headers.add.Connection: "Connection" is managed by the gateway and cannot be added or removed',
      'slices.PolicyStatus.legacy.headers.add.x-ok: header value must not contain CR, LF or NUL',
      'slices.PolicyStatus.legacy.headers.remove[0]: "x-request-id" is managed by the gateway and cannot be added or removed',
      'slices.PolicyStatus.legacy.headers.remove[1]: "bad header" is not a valid header name',
      'slices.PolicyStatus.modern.headers.add.Proxy-Authorization: "Proxy-Authorization" is managed by the gateway and cannot be added or removed',
      'slices.PolicyStatus.modern.headers.add.x-forwarded-port: "x-forwarded-port" is managed by the gateway and cannot be added or removed',
      'slices.PolicyStatus.modern.headers.remove[0]: "Forwarded" is managed by the gateway and cannot be added or removed',
    ])
  })

  it('checks shadow, compare and translate sections', () => {
    expect(
      problems(
        withSlice({
          shadow: { sample: 120, writes: { dryRunHeader: {}, sandbox: 'legacy' } },
          compare: { ignore: ['asOf'], headers: ['bad header'] },
          translate: {
            version: 't1',
            legacy: { rename: { pol_no: '/policyNumber' }, coerce: { '/amount': 'money', '/start': 'date:MM/DD' }, fn: 'not a function' },
          },
        }),
      ),
    ).toEqual(['slices.policy-status.shadow.sample: must be at most 100 (got 120)'])
    expect(
      problems(
        withSlice({
          shadow: { writes: { dryRunHeader: {}, sandbox: 'legacy' } },
          compare: { ignore: ['asOf'], headers: ['bad header'] },
          translate: {
            version: 't1',
            legacy: { rename: { pol_no: '/policyNumber' }, coerce: { '/amount': 'money', '/start': 'date:MM/DD' }, fn: 'not a function' },
          },
        }),
      ),
    ).toEqual([
      'slices.policy-status.shadow.writes: must name exactly one safety mode: dryRunHeader or sandbox',
      'slices.policy-status.compare.ignore: "asOf" is not a JSON pointer (it must start with "/", e.g. "/policy/status")',
      'slices.policy-status.compare.headers[0]: "bad header" is not a valid header name',
      'slices.policy-status.translate.legacy.rename: "pol_no" is not a JSON pointer (it must start with "/", e.g. "/policy/status")',
      'slices.policy-status.translate.legacy.coerce["/amount"]: must be "number", "string", "boolean" or "date:<format>" such as "date:YYYYMMDD" (got "money")',
      'slices.policy-status.translate.legacy.coerce["/start"]: date format "MM/DD" needs YYYY, MM and DD',
      'slices.policy-status.translate.legacy.fn: must be a function (body) => body',
    ])
  })

  it('fills in shadow and compare defaults', () => {
    const config = validateConfig(withSlice({ shadow: { writes: { dryRunHeader: {} } }, translate: { version: 'v7', legacy: { rename: { '/a': '/b' } } } }))
    const slice = config.slices[0]!
    expect(slice.shadow).toEqual({
      sampleBasisPoints: 10_000,
      timeoutMs: 5_000,
      maxRequestBodyBytes: 1_048_576,
      maxResponseBodyBytes: 5_242_880,
      writes: { legacy: null, modern: { kind: 'dry-run-header', name: 'x-ficus-shadow', value: 'dry-run' } },
      reask: null,
      noiseBasisPoints: 0,
      noise: { minSelfDifferences: 3, minRatio: 0.5, windowMs: 3_600_000, ttlMs: 86_400_000 },
    })
    expect(slice.compare.rulesHash).toMatch(/^sha256:[0-9a-f]{16}$/)
    expect(slice.compare.translationVersion).toBe('v7')
    expect(slice.compare.rules.headers).toEqual(['content-type'])
    expect(typeof slice.compare.rules.translate.legacy).toBe('function')
    expect(config.shadowLimits).toEqual({ concurrency: 32, queue: 128, skipsIntervalMs: 10_000 })
    expect(config.upstreams.get('legacy')?.breakers.primary).toEqual({
      countServerErrors: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 20,
      resetTimeoutMs: 10_000,
      rollingWindowMs: 10_000,
    })
    expect(config.upstreams.get('legacy')?.breakers.shadow?.countServerErrors).toBe(true)
    expect(config.upstreams.get('legacy')?.retryIdempotent).toBe(true)
  })

  it('puts every problem into one error message, one line each', () => {
    try {
      validateConfig(withSlice({ authority: 'new', routes: [{ method: 'GET', path: 'x' }] }), 'routes.config.ts')
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).toBe(
        'routes.config.ts: 2 problems\n' +
          '  slices.policy-status.routes[0].path: must start with "/" (got "x")\n' +
          '  slices.policy-status.authority: must be "legacy", "modern" or a percentage of modern traffic from "0%" to "100%" in steps of 0.01 (got "new")',
      )
    }
  })
})
