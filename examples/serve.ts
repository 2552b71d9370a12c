// `npm run examples`: the example services on their default ports, for `npm start` to route to.
import { startExampleServices } from './example-services.ts'

const running = await startExampleServices({ host: process.env.EXAMPLES_HOST ?? '127.0.0.1' })
for (const [name, url] of Object.entries(running.urls)) process.stdout.write(`${name.padEnd(16)} ${url}\n`)
process.stdout.write('example services running; Ctrl-C to stop\n')
const stop = (): void => {
  void running.close().then(() => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
