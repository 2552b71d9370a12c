// The example migration for the screenshot scripts: the example services (ephemeral ports) and the
// repository's routes.config.ts behind an in-process gateway with a fresh data directory, on
// embedded defaults — no admin token, Redis or Kafka from the caller's environment.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startExampleServices, type RunningExamples } from '../examples/example-services.ts'
import { startGateway, type RunningGateway } from '../src/app/start-gateway.ts'
import { readSettings } from '../src/app/settings.ts'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface ExampleStack {
  readonly gateway: RunningGateway
  readonly dataDir: string
  /** Closes the gateway early (it writes out every comparison it holds); the stack's end skips it then. */
  readonly closeGateway: () => Promise<void>
}

/** Runs `work` against a fresh example stack, and takes it all down afterwards, whatever happens. */
export async function withExampleStack<T>(instance: string, work: (stack: ExampleStack) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), `ficus-${instance}-`))
  let examples: RunningExamples | undefined
  let gateway: RunningGateway | undefined
  try {
    examples = await startExampleServices({ ephemeral: true })
    // routes.config.ts reads the example services' addresses from the environment.
    Object.assign(process.env, examples.env)
    const env: NodeJS.ProcessEnv = {
      ...examples.env,
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'error',
      FICUS_CONFIG: join(ROOT, 'routes.config.ts'),
      FICUS_DATA_DIR: dataDir,
      FICUS_INSTANCE_ID: instance,
    }
    const running = await startGateway(readSettings(env, { isTTY: false, cwd: ROOT }))
    gateway = running
    return await work({
      gateway: running,
      dataDir,
      closeGateway: async () => {
        const open = gateway
        gateway = undefined
        await open?.close()
      },
    })
  } finally {
    await gateway?.close()
    await examples?.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}
