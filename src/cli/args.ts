import { parseArgs, type ParseArgsConfig } from 'node:util'
import { fail, type FicusError } from '../errors/errors.ts'

/** A mistake on the command line: the CLI prints it with the usage and exits 2. */
export function usageError(message: string): FicusError {
  return fail.cliUsage(message)
}

/** node's parseArgs, with its complaints (unknown option, missing value) as usage errors. */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (err) {
    throw usageError((err as Error).message)
  }
}
