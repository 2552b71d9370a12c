import { access } from 'node:fs/promises'
import { relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FicusError } from '../errors.ts'
import type { GatewayConfig } from './types.ts'
import { validateConfig } from './validate.ts'

export const DEFAULT_CONFIG_FILE = 'routes.config.ts'

/**
 * Imports a routes config file (TypeScript or JavaScript, `export default defineGateway({...})`)
 * and validates it. Throws FICUS_ERR_CONFIG_NOT_FOUND, FICUS_ERR_CONFIG_LOAD or
 * FICUS_ERR_CONFIG_INVALID; never returns a half-valid config.
 */
export async function loadConfig(file: string, cwd = process.cwd()): Promise<GatewayConfig> {
  const absolute = resolve(cwd, file)
  const shown = relative(cwd, absolute) || absolute
  try {
    await access(absolute)
  } catch {
    throw new FicusError('FICUS_ERR_CONFIG_NOT_FOUND', `${shown}: no such file (pass the config path, or run from the directory that holds ${DEFAULT_CONFIG_FILE})`, {
      details: { file: absolute },
    })
  }
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new FicusError('FICUS_ERR_CONFIG_LOAD', `${shown}: could not be loaded: ${reason}`, { cause: err, details: { file: absolute } })
  }
  if (module.default === undefined) {
    throw new FicusError('FICUS_ERR_CONFIG_LOAD', `${shown}: has no default export; write \`export default defineGateway({ ... })\``, {
      details: { file: absolute },
    })
  }
  return validateConfig(module.default, shown)
}
