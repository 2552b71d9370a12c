import { readReporterSettings } from '../app/settings.ts'
import { startReporter } from '../app/start-reporter.ts'
import { parseCliArgs } from './args.ts'

export interface ReporterIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean }
  readonly cwd: string
}

/** `ficus reporter [--config FILE]`: runs the reporter service until SIGTERM or SIGINT. */
export async function reporterCommand(args: readonly string[], io: ReporterIo): Promise<number> {
  const { values } = parseCliArgs({ args: [...args], options: { config: { type: 'string' } }, strict: true, allowPositionals: false })
  const settings = readReporterSettings(io.env, { isTTY: io.stdout.isTTY === true })
  const running = await startReporter(values.config === undefined ? settings : { ...settings, configFile: values.config }, io.cwd)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
  await running.close()
  return 0
}
