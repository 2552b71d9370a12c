// Soak: moderate load with 100 % shadow for N seconds; RSS of the gateway over time and its event
// loop delay (from its own metrics), to show memory stays bounded.
import autocannon from 'autocannon'
import { eventLoopDelayP99Ms, rssBytes } from './process-stats.ts'
import { ficus, startUpstreams } from './targets.ts'

export interface SoakFigures {
  readonly seconds: number
  readonly rssMb: { readonly start: number; readonly middle: number; readonly end: number }
  readonly growthPercent: number
  readonly requests: number
  readonly errors: number
  readonly eventLoopP99Ms: { readonly start: number | null; readonly middle: number | null; readonly end: number | null }
  readonly markdown: string
}

async function eventLoopP99(adminUrl: string): Promise<number | null> {
  return eventLoopDelayP99Ms(await (await fetch(`${adminUrl}/metrics`)).text())
}

export async function soak(seconds: number, log: (text: string) => void): Promise<SoakFigures> {
  const upstreams = await startUpstreams()
  const gateway = await ficus({ legacy: upstreams.legacy, modern: upstreams.modern, shadow: true })
  try {
    const pid = gateway.pids()[0] ?? 0
    const samples: { at: number; rss: number }[] = []
    const lag: (number | null)[] = []
    const startedAt = Date.now()
    const timer = setInterval(() => samples.push({ at: Date.now() - startedAt, rss: rssBytes(pid) }), 1_000)
    lag.push(await eventLoopP99(gateway.adminUrl))
    const half = setTimeout(() => void eventLoopP99(gateway.adminUrl).then((value) => lag.push(value)), (seconds * 1000) / 2)
    log(`soak: ${seconds} s at 1000 req/s, 100 % shadow`)
    const result = await autocannon({ url: `${gateway.url}/small/P-1001`, connections: 10, duration: seconds, overallRate: 1000 })
    clearInterval(timer)
    clearTimeout(half)
    lag.push(await eventLoopP99(gateway.adminUrl))
    const at = (fraction: number): number => (samples[Math.min(samples.length - 1, Math.floor(samples.length * fraction))]?.rss ?? 0) / 1048576
    const rssMb = { start: at(0.05), middle: at(0.5), end: at(0.999) }
    const growthPercent = rssMb.middle > 0 ? ((rssMb.end - rssMb.middle) / rssMb.middle) * 100 : 0
    const eventLoopP99Ms = { start: lag[0] ?? null, middle: lag.length > 2 ? (lag[1] ?? null) : null, end: lag.at(-1) ?? null }
    const fmt = (value: number | null): string => (value === null ? '–' : value.toFixed(1))
    const markdown = [
      `${seconds} s at 1000 req/s (10 connections), 100 % shadow + compare + JSONL: ${result.requests.total} requests, ${result.errors + result.timeouts + result.non2xx} errors.`,
      '',
      '| | start | middle | end |',
      '| --- | --- | --- | --- |',
      `| gateway RSS MB | ${rssMb.start.toFixed(0)} | ${rssMb.middle.toFixed(0)} | ${rssMb.end.toFixed(0)} |`,
      `| event loop delay p99 ms | ${fmt(eventLoopP99Ms.start)} | ${fmt(eventLoopP99Ms.middle)} | ${fmt(eventLoopP99Ms.end)} |`,
      '',
      `RSS growth from the middle to the end: ${growthPercent.toFixed(1)} % (target: under 10 %).`,
    ].join('\n')
    return { seconds, rssMb, growthPercent, requests: result.requests.total, errors: result.errors + result.timeouts + result.non2xx, eventLoopP99Ms, markdown }
  } finally {
    await gateway.stop()
    await upstreams.stop()
  }
}
