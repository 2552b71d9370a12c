// `npm run clients`: the example customers' traffic through a running gateway (the demo's, or
// `npm start`): each of the 200 customers asks every slice once, sending its customer id (the
// slices' sticky key). It prints, per slice, how many customers each side answered — after
// `ficus flip coverage-status 25%`, about a quarter of them, and the same ones on every run.
import { parseArgs } from 'node:util'
import { CUSTOMER_COUNT, customerRound, describeRound } from './example-clients.ts'

const { values } = parseArgs({ options: { gateway: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: false })
if (values.help) {
  process.stdout.write('Usage: npm run clients [-- --gateway URL]   (default $FICUS_GATEWAY_URL, else http://127.0.0.1:$PORT or :8080)\n')
  process.exit(0)
}
const base = (values.gateway ?? process.env.FICUS_GATEWAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? '8080'}`).replace(/\/$/, '')
const rounds = await customerRound(base)
if (rounds.every((round) => round.failed.length === CUSTOMER_COUNT)) {
  process.stderr.write(`clients: no answer from a gateway at ${base} (start one: npm run demo, or npm run examples and npm start)\n`)
  process.exit(1)
}
process.stdout.write(`${CUSTOMER_COUNT} example customers through ${base}, one request per slice each:\n${describeRound(rounds)}\n`)
