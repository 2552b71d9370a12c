import { beforeAll, describe, expect, it } from 'vitest'
import { gatewayWithUpstreams } from '../helpers/gateway.ts'
import { send, type ClientResponse } from '../helpers/http-client.ts'

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'
const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8'
/** What Prometheus 2.x and 3.x send when scraping (3.x adds `escaping=…` parameters). */
const PROMETHEUS_SCRAPER_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

const fixture = gatewayWithUpstreams()
beforeAll(async () => {
  await send(`${fixture.gateway.url}/policy/P-1/status`)
})

function scrape(accept?: string): Promise<ClientResponse> {
  return send(`${fixture.gateway.adminUrl}/metrics`, accept === undefined ? {} : { headers: { accept } })
}

/** Checks a body is the Prometheus text format: counters named with their _total. */
function expectPrometheusText(response: ClientResponse): void {
  expect(response.status).toBe(200)
  expect(response.headers['content-type']).toBe(PROMETHEUS_TEXT)
  expect(response.body).toMatch(/^# TYPE ficus_requests_total counter\nficus_requests_total\{slice="policy-status",side="legacy",status_class="2xx"\} 1$/m)
  expect(response.body).not.toMatch(/# EOF/)
}

/** Checks a body is OpenMetrics 1.0: counter families without _total, their samples with it, `# EOF` last. */
function expectOpenMetrics(response: ClientResponse): void {
  expect(response.status).toBe(200)
  expect(response.headers['content-type']).toBe(OPENMETRICS_TEXT)
  const body = response.body
  expect(body.endsWith('\n# EOF\n')).toBe(true)
  expect(body.indexOf('# EOF')).toBe(body.length - '# EOF\n'.length)
  expect(body).toMatch(/^# TYPE ficus_requests counter\nficus_requests_total\{slice="policy-status",side="legacy",status_class="2xx"\} 1$/m)
  expect(body).not.toMatch(/^# TYPE \S+_total counter$/m)
  expect(body).toMatch(/^# TYPE ficus_upstream_duration_seconds histogram$/m)
  expect(body).toMatch(/^ficus_upstream_duration_seconds_bucket\{le="\+Inf",slice="policy-status",side="legacy"\} 1$/m)
  expect(body).toMatch(/^ficus_breaker_state\{upstream="legacy",traffic="primary",slice="policy-status",state="closed"\} 1$/m)
  // No blank lines, and HELP texts escape what OpenMetrics asks (a bare double quote is not allowed).
  expect(body).not.toMatch(/\n\n/)
  for (const help of body.match(/^# HELP .*$/gm) ?? []) expect(help).not.toMatch(/(^|[^\\])"/)
  // Every sample belongs to the family declared above it; a counter's samples are named <family>_total.
  let family: { name: string; type: string } | undefined
  for (const line of body.split('\n')) {
    const declared = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (declared) family = { name: declared[1]!, type: declared[2]! }
    if (line.startsWith('#') || line === '') continue
    expect(family, line).toBeDefined()
    expect(line.startsWith(family!.name), line).toBe(true)
    if (family!.type === 'counter') expect(line, line).toMatch(new RegExp(`^${family!.name}_total[{ ]`))
  }
}

describe('GET /metrics content negotiation', () => {
  it('answers the Prometheus text format to a scrape that does not ask for OpenMetrics', async () => {
    const plain = await scrape()
    expectPrometheusText(plain)
    expect(plain.headers.vary).toMatch(/accept/i)
    expectPrometheusText(await scrape('text/plain; version=0.0.4'))
    expectPrometheusText(await scrape('*/*'))
  })

  it('answers OpenMetrics to Accept: application/openmetrics-text; version=1.0.0', async () => {
    const response = await scrape('application/openmetrics-text; version=1.0.0')
    expectOpenMetrics(response)
    expect(response.headers.vary).toMatch(/accept/i)
    expectOpenMetrics(await scrape('application/openmetrics-text'))
    expectOpenMetrics(await scrape(PROMETHEUS_SCRAPER_ACCEPT))
  })

  it('follows the scraper’s q-values and ignores OpenMetrics versions it cannot write', async () => {
    expectPrometheusText(await scrape('text/plain;version=0.0.4, application/openmetrics-text;version=1.0.0;q=0.5'))
    expectOpenMetrics(await scrape('text/plain;version=0.0.4;q=0.3, application/openmetrics-text;version=1.0.0;q=0.5'))
    expectPrometheusText(await scrape('application/openmetrics-text;version=1.0.0;q=0'))
    expectPrometheusText(await scrape('application/openmetrics-text;version=2.0.0, text/plain;q=0.5'))
  })

  it('keeps both formats right under concurrent scrapes, and after an OpenMetrics scrape', async () => {
    // prom-client renames counters in place when a registry renders OpenMetrics; the Prometheus
    // format must not lose its _total after (or while) an OpenMetrics scraper was served.
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => scrape(i % 2 === 0 ? PROMETHEUS_SCRAPER_ACCEPT : undefined)))
    responses.forEach((response, i) => (i % 2 === 0 ? expectOpenMetrics(response) : expectPrometheusText(response)))
    expectPrometheusText(await scrape())
  })
})
