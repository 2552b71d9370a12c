import { access } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { tsImport } from 'tsx/esm/api'
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
  const nearby = relative(cwd, absolute)
  const shown = nearby === '' || nearby.startsWith('..') || isAbsolute(nearby) ? absolute : nearby
  try {
    await access(absolute)
  } catch {
    throw new FicusError('FICUS_ERR_CONFIG_NOT_FOUND', `${shown}: no such file (pass the config path, or run from the directory that holds ${DEFAULT_CONFIG_FILE})`, {
      details: { file: absolute },
    })
  }
  let exported: unknown
  try {
    // tsx loads TypeScript and JavaScript alike, whether the file's package is ESM or CommonJS.
    const module = (await tsImport(absolute, import.meta.url)) as { default?: unknown }
    exported = unwrapCommonJsDefault(module.default)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new FicusError('FICUS_ERR_CONFIG_LOAD', `${shown}: could not be loaded: ${reason}`, { cause: err, details: { file: absolute } })
  }
  if (exported === undefined) {
    throw new FicusError('FICUS_ERR_CONFIG_LOAD', `${shown}: has no default export; write \`export default defineGateway({ ... })\``, {
      details: { file: absolute },
    })
  }
  return validateConfig(exported, shown)
}

/**
 * A file compiled to CommonJS (its package is not `"type": "module"`) shows up with its whole
 * `exports` object as the namespace's default; its own `export default` is one level down.
 */
function unwrapCommonJsDefault(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, '__esModule')) {
    return (value as { default?: unknown }).default
  }
  return value
}
