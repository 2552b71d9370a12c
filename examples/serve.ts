// `npm run examples`: the example services, for `npm start` to route to. Ports 4101–4104 unless
// set: `npm run examples -- --legacy-pas-port 5101 ...`, or LEGACY_PAS_PORT, POLICY_CONTEXT_PORT,
// BILLING_CONTEXT_PORT, CLAIMS_CONTEXT_PORT. EXAMPLES_HOST sets the address (a container: 0.0.0.0).
import { parseArgs } from 'node:util'
import { EXAMPLE_SERVICES, startExampleServices, type ExampleServiceName } from './example-services.ts'

const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = { help: { type: 'boolean', short: 'h' } }
for (const service of EXAMPLE_SERVICES) options[`${service.name}-port`] = { type: 'string' }
const { values } = parseArgs({ options, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> }
if (values.help === true) {
  const flags = EXAMPLE_SERVICES.map((service) => `  --${service.name}-port N   (or ${service.portEnv}; default ${service.port})`).join('\n')
  process.stdout.write(`Usage: npm run examples [-- options]\n\n${flags}\n`)
  process.exit(0)
}

const ports: Partial<Record<ExampleServiceName, number>> = {}
for (const service of EXAMPLE_SERVICES) {
  const text = values[`${service.name}-port`] ?? process.env[service.portEnv]
  if (typeof text !== 'string') continue
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`examples: the port of ${service.name} must be 0–65535 (got ${JSON.stringify(text)})\n`)
    process.exit(2)
  }
  ports[service.name] = port
}

const running = await startExampleServices({ host: process.env.EXAMPLES_HOST ?? '127.0.0.1', ports })
for (const [name, url] of Object.entries(running.urls)) process.stdout.write(`${name.padEnd(16)} ${url}\n`)
const moved = EXAMPLE_SERVICES.filter((service) => ports[service.name] !== undefined && ports[service.name] !== service.port)
if (moved.length > 0) {
  // routes.config.ts reads the addresses from these: give them to `npm start` too.
  process.stdout.write(`for npm start: ${moved.map((service) => `${service.env}=${running.env[service.env] ?? ''}`).join(' ')}\n`)
}
process.stdout.write('example services running; Ctrl-C to stop\n')
const stop = (): void => {
  void running.close().then(() => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
