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
process.exitCode = await main(process.argv.slice(2))
