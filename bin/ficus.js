#!/usr/bin/env node
// Entry of the `ficus` command. From a checkout, tsx lets Node run the TypeScript sources (and the
// user's routes.config.ts) directly: no build step. In the container image, `npm run build` has
// compiled them to dist/ and NODE_OPTIONS=--conditions=ficus-dist makes `ficus/cli` (and a
// config's `import ... from 'ficus'`) resolve there, so nothing of Ficus is compiled at start.
import './check-node.js'

const cli = import.meta.resolve('ficus/cli')
if (cli.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api')
  register()
}
const { main } = await import(cli)
const code = await main(process.argv.slice(2))
// Exit explicitly once the output is written: a handle someone left open (a config's timer or
// server, a Redis or Kafka client still connecting after a failed start) must not keep the
// process alive, and an import that never settled must not end as Node's silent exit 13.
let timer
const written = Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
await Promise.race([written, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))])
clearTimeout(timer)
process.exit(code)
