// What young-generation collections cost a proxy built on undici's request() against one built on
// dispatch() with a plain stream: the same node:http front, the same upstream and rate, only the
// way the answer is received differs. Each runs in a child process with --trace-gc-nvp; the table
// says how many young collections ran, their total and longest pause, and the megabytes that
// survived each one (objects of finished requests that a collection still had to copy). The
// children run with V8's allocation-site pretenuring off, as `ficus start` runs the gateway.
// `npm run bench:young-gc -- [--seconds 10] [--rate 3000]`. Not part of `npm run bench`.
//
// What it showed (README, Performance): request() 117-174 ms of young pauses over 8 s at 3 000
// req/s, 2-4 MB surviving each collection; dispatch() into a plain Readable 9-22 ms, none
// surviving. The cause: undici 8 keeps its per-call controller reachable from the answer's stream;
// a stream listener whose closure holds that controller is enough. Ficus's pools let go of it when
// a call ends (src/upstream/release-controller.ts); this script measures undici's own behaviour,
// without that, to tell when undici changes.
import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { Pool, type Dispatcher } from 'undici'
import { startUpstreams } from './targets.ts'

type Mode = 'request' | 'dispatch'

/** The child: a minimal proxy receiving the answer one way or the other, its port on stdout. */
function serve(mode: Mode, upstream: string): void {
  const pool = new Pool(upstream, { connections: 128 })
  const viaDispatch = (path: string): Promise<{ statusCode: number; body: Readable }> =>
    new Promise((resolve, reject) => {
      let body: Readable | null = null
      const handler: Dispatcher.DispatchHandler = {
        onResponseStart(controller, statusCode) {
          body = new Readable({ read: () => controller.resume() })
          resolve({ statusCode, body })
        },
        onResponseData(controller, chunk) {
          if (body?.push(chunk) === false) controller.pause()
        },
        onResponseEnd() {
          body?.push(null)
        },
        onResponseError(_controller, err) {
          if (body) body.destroy(err)
          else reject(err)
        },
      }
      pool.dispatch({ method: 'GET', path, headers: {} }, handler)
    })
  const server = http.createServer((req, res) => {
    const signal = new EventEmitter()
    const answer = mode === 'request' ? pool.request({ method: 'GET', path: req.url ?? '/', signal }) : viaDispatch(req.url ?? '/')
    answer.then(
      ({ statusCode, body }) => {
        res.writeHead(statusCode, { 'content-type': 'application/json' })
        body.pipe(res)
      },
      () => res.writeHead(502).end(),
    )
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`)
  })
  process.on('SIGTERM', () => process.exit(0))
}

interface YoungGc {
  readonly collections: number
  readonly pauseMs: number
  readonly maxPauseMs: number
  readonly survivedMbMean: number
}

/** Young collections (gc=s) in --trace-gc-nvp output after the first `fromMs` of the process. */
function youngCollections(trace: string, fromMs: number): YoungGc {
  let collections = 0
  let pauseMs = 0
  let maxPauseMs = 0
  let survived = 0
  for (const record of trace.split(/\n(?=\[\d+:)/)) {
    if (!/\bgc=s\b/.test(record)) continue
    const at = Number(/(\d+) ms: /.exec(record)?.[1] ?? 0)
    if (at < fromMs) continue
    const field = (name: string): number => Number(new RegExp(`\\b${name}=([0-9.]+)`).exec(record)?.[1] ?? 0)
    collections++
    pauseMs += field('pause')
    maxPauseMs = Math.max(maxPauseMs, field('pause'))
    survived += field('new_space_survived')
  }
  return { collections, pauseMs, maxPauseMs, survivedMbMean: collections === 0 ? 0 : survived / collections / 1e6 }
}

async function measure(mode: Mode, upstream: string, seconds: number, rate: number): Promise<YoungGc & { rps: number }> {
  const flags = ['--trace-gc-nvp', '--no-allocation-site-pretenuring']
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'bench/young-gc.ts', '--serve', mode, '--upstream', upstream], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let trace = ''
  let port = 0
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (port === 0 && line.startsWith('{')) {
        port = (JSON.parse(line) as { port: number }).port
        resolve()
      } else trace += `${line}\n`
    }),
  )
  await ready
  const result = await autocannon({ url: `http://127.0.0.1:${port}/small/P-1001`, connections: 50, duration: seconds, overallRate: rate })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
  // The first second is start-up and compilation; what follows is the steady rate.
  return { ...youngCollections(trace, 1_000), rps: result.requests.average }
}

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, rate: { type: 'string', default: '3000' }, serve: { type: 'string' }, upstream: { type: 'string' } },
})
if (values.serve !== undefined) serve(values.serve as Mode, values.upstream ?? 'http://127.0.0.1:1')
else {
  const upstreams = await startUpstreams()
  try {
    console.log('| receiving the answer with | req/s | young collections | total pause ms | longest ms | MB surviving each (mean) |')
    console.log('| --- | --- | --- | --- | --- | --- |')
    for (const mode of ['request', 'dispatch', 'request', 'dispatch'] as const) {
      const run = await measure(mode, upstreams.legacy, Number(values.seconds), Number(values.rate))
      const name = mode === 'request' ? "undici's request()" : 'dispatch() and a plain Readable'
      console.log(
        `| ${name} | ${run.rps.toFixed(0)} | ${run.collections} | ${run.pauseMs.toFixed(0)} | ${run.maxPauseMs.toFixed(1)} | ${run.survivedMbMean.toFixed(1)} |`,
      )
    }
  } finally {
    await upstreams.stop()
  }
}
