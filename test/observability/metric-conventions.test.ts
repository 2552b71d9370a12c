import { beforeAll, describe, expect, it, vi } from 'vitest'
import { eventLoopDelayP99Ms } from '../../bench/process-stats.ts'
import { EVENT_LOOP_SAMPLING_MS, METRIC_NAMES } from '../../src/observability/metrics.ts'
import { gatewayWithUpstreams } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'

// Prometheus naming conventions (https://prometheus.io/docs/practices/naming/), checked on a
// real scrape of the admin port: counters end in _total, ratios in _ratio, an enum is one series
// per state, a level is a gauge.

interface Family {
  readonly type: string
  readonly samples: { readonly name: string; readonly labels: string; readonly value: number }[]
}

/** The families of a Prometheus text exposition, by name. */
function families(text: string): Map<string, Family> {
  const byName = new Map<string, Family>()
  let current: Family | undefined
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) {
      current = { type: type[2]!, samples: [] }
      byName.set(type[1]!, current)
      continue
    }
    const sample = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line)
    if (sample && current) current.samples.push({ name: sample[1]!, labels: sample[2] ?? '', value: Number(sample[3]) })
  }
  return byName
}

const fixture = gatewayWithUpstreams()
beforeAll(async () => {
  // A quarter of the slice to modern: a ratio to export, and an authority change for the sink to write.
  const flip = await send(`${fixture.gateway.adminUrl}/admin/slices/policy-status/authority`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ authority: '25%', reason: 'metric conventions' }),
  })
  expect(flip.status).toBe(200)
})

async function scrape(): Promise<{ text: string; families: Map<string, Family> }> {
  const response = await send(`${fixture.gateway.adminUrl}/metrics`)
  expect(response.status).toBe(200)
  return { text: response.body, families: families(response.body) }
}

describe('metric names and shapes', () => {
  it('exports every name of METRIC_NAMES; counters, and only counters, end in _total', async () => {
    await send(`${fixture.gateway.url}/policy/P-1/status`)
    const { families: all } = await scrape()
    for (const name of Object.values(METRIC_NAMES)) expect(all.has(name), name).toBe(true)
    const ours = [...all].filter(([name]) => name.startsWith('ficus_'))
    expect(ours.length).toBe(Object.values(METRIC_NAMES).length)
    for (const [name, family] of ours) {
      expect(family.type === 'counter', `${name} is a ${family.type}`).toBe(name.endsWith('_total'))
      if (family.type === 'counter') for (const sample of family.samples) expect(sample.name).toBe(name)
    }
    expect(all.get('ficus_requests_total')?.type).toBe('counter')
  })

  it('counts what the event sink wrote and dropped as counters, and what it buffers now as a gauge', async () => {
    // The JSON-lines sink writes in the background: the authority change is counted once it is on disk.
    await vi.waitFor(async () => {
      expect((await scrape()).text).toMatch(/^ficus_event_sink_records_written_total\{sink="jsonl"\} [1-9]\d*$/m)
    })
    const { text, families: all } = await scrape()
    expect(text).toMatch(/^# TYPE ficus_event_sink_records_written_total counter$/m)
    expect(text).toMatch(/^# TYPE ficus_event_sink_records_dropped_total counter$/m)
    expect(text).toMatch(/^ficus_event_sink_records_dropped_total\{sink="jsonl"\} 0$/m)
    expect(text).toMatch(/^# TYPE ficus_event_sink_records_buffered gauge$/m)
    expect(text).toMatch(/^ficus_event_sink_records_buffered\{sink="jsonl"\} \d+$/m)
    // Kafka's own counts have no series with the JSON-lines sink.
    expect(all.get('ficus_event_sink_records_spilled_total')?.samples).toEqual([])
    expect(text).toMatch(/^ficus_outbox_bytes 0$/m)
    expect(text).not.toMatch(/^ficus_event_sink_records\{/m)
  })

  it('exports the modern share of a slice as a ratio', async () => {
    const { text } = await scrape()
    expect(text).toMatch(/^# TYPE ficus_slice_modern_ratio gauge$/m)
    expect(text).toMatch(/^ficus_slice_modern_ratio\{slice="policy-status"\} 0\.25$/m)
    expect(text).not.toMatch(/modern_share/)
  })

  it('exports each breaker’s state as one series per state, exactly one of them 1', async () => {
    const breakers = (await scrape()).families.get('ficus_breaker_state')
    expect(breakers?.type).toBe('gauge')
    const byBreaker = new Map<string, Map<string, number>>()
    for (const sample of breakers?.samples ?? []) {
      // Shadow breakers are per slice (made on a slice's first shadow call); client ones have slice "".
      const labels = /^\{upstream="([^"]+)",traffic="([^"]+)",slice="([^"]*)",state="([^"]+)"\}$/.exec(sample.labels)
      expect(labels, sample.labels).not.toBeNull()
      const [, upstream, traffic, slice, state] = labels!
      const key = `${upstream}:${traffic}:${slice}`
      const states = byBreaker.get(key) ?? new Map<string, number>()
      states.set(state!, sample.value)
      byBreaker.set(key, states)
    }
    expect([...byBreaker.keys()].sort()).toEqual(expect.arrayContaining(['legacy:primary:policy-status']))
    for (const states of byBreaker.values()) {
      expect(Object.fromEntries(states)).toEqual({ closed: 1, 'half-open': 0, open: 0 })
    }
  })
})

describe('the event-loop delay gauges', () => {
  it('include the sampler’s interval, which the bench takes off to report the delay itself', async () => {
    await scrape() // starts a fresh window (prom-client resets the histogram at every scrape)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const { text, families: all } = await scrape()
    // Node records the time between the sampler's ticks: never less than its interval, even on an idle loop.
    const min = all.get('nodejs_eventloop_lag_min_seconds')?.samples[0]?.value ?? 0
    const p99 = all.get('nodejs_eventloop_lag_p99_seconds')?.samples[0]?.value ?? 0
    expect(min).toBeGreaterThanOrEqual((EVENT_LOOP_SAMPLING_MS - 1) / 1000)
    expect(eventLoopDelayP99Ms(text)).toBeCloseTo(Math.max(0, p99 * 1000 - EVENT_LOOP_SAMPLING_MS), 6)
  })
})
