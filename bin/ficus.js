#!/usr/bin/env node
// Entry of the `ficus` command. tsx lets Node run the TypeScript sources and the user's
// routes.config.ts directly, so there is no build step.
import './check-node.js'

const { register } = await import('tsx/esm/api')
register()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
