// The bench's upstreams, in a process of their own: `legacy`, `modern` (the same answers) and
// `slow-modern` (the same, 200 ms late). Paths: /small/:id (~1 KB JSON) and /large/:id (~20 KB).
// Prints one JSON line with the ports, then serves until killed.
import { createServer, type Server } from 'node:http'

function policy(id: string, claims: number): string {
  return JSON.stringify({
    policyNumber: id,
    status: 'ACTIVE',
    product: 'HOME-COMPREHENSIVE',
    coverage: { start: '2025-01-01', end: '2026-12-31', sumInsured: 650_000, excess: 500 },
    policyholder: { fullName: 'Ada Lovelace', email: 'ada@example.test', address: { line1: '12 Analytical Row', city: 'London', postcode: 'N1 9GU' } },
    premium: { amount: 1234.5, currency: 'AUD', frequency: 'MONTHLY' },
    claims: Array.from({ length: claims }, (_, i) => ({
      claimNumber: `C-${1000 + i}`,
      lossDate: '2025-06-01',
      amount: 1000 + i * 17,
      status: i % 3 === 0 ? 'OPEN' : 'SETTLED',
      notes: 'Water damage to the kitchen ceiling after a storm; assessor visited.',
    })),
  })
}

const SMALL = Buffer.from(policy('P-1001', 3))
const LARGE = Buffer.from(policy('P-1001', 110))

function serve(delayMs: number): Promise<Server> {
  const server = createServer((request, response) => {
    const body = request.url?.startsWith('/large/') ? LARGE : SMALL
    const answer = (): void => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      response.end(body)
    }
    request.resume()
    if (delayMs > 0) setTimeout(answer, delayMs)
    else answer()
  })
  server.keepAliveTimeout = 60_000
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const [legacy, modern, slow] = await Promise.all([serve(0), serve(0), serve(200)])
const port = (server: Server): number => (server.address() as { port: number }).port
process.stdout.write(
  `${JSON.stringify({ legacy: port(legacy), modern: port(modern), slowModern: port(slow), smallBytes: SMALL.length, largeBytes: LARGE.length })}\n`,
)
