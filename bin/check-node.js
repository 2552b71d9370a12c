#!/usr/bin/env node
// Stops `ficus`, `npm test` and `npm run demo` early, with what to do, when the Node.js running them is
// older than package.json's engines allow (the machines here ship Node 20; Ficus needs 22.21+).
import { readFileSync } from 'node:fs'

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const minimum = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(engines.node.trim())
if (!minimum) throw new Error(`check-node: engines.node must read ">=x.y.z" (got "${engines.node}")`)
const have = process.versions.node.split('.').map(Number)
const want = minimum.slice(1).map(Number)
const older = have[0] !== want[0] ? have[0] < want[0] : have[1] !== want[1] ? have[1] < want[1] : have[2] < want[2]
if (older) {
  process.stderr.write(
    `ficus: Node.js ${process.versions.node} is too old; Ficus needs Node.js ${want.join('.')} or newer (24 LTS recommended).\n` +
      `Run the command on the release .node-version names, installed for you into a cache folder:\n` +
      `  scripts/with-node.sh bash -c 'npm install && npm test'\n`,
  )
  process.exit(1)
}
