import { access } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { tsImport } from 'tsx/esm/api'
import { fail, FicusError } from '../errors/errors.ts'
import type { GatewayConfig } from './types.ts'
import { validateConfig } from './validate.ts'

export const DEFAULT_CONFIG_FILE = 'routes.config.ts'
/** How long importing the config may take (FICUS_CONFIG_TIMEOUT_MS): a top-level await that never settles must not hang the start. */
export const DEFAULT_CONFIG_TIMEOUT_MS = 10_000

export interface LoadConfigOptions {
  /** Give up on the import after this long with FICUS_ERR_CONFIG_TIMEOUT (default DEFAULT_CONFIG_TIMEOUT_MS). */
  readonly timeoutMs?: number
}

/**
 * Imports a routes config file (TypeScript or JavaScript, `export default defineGateway({...})`)
 * and validates it. Throws FICUS_ERR_CONFIG_NOT_FOUND, FICUS_ERR_CONFIG_LOAD,
 * FICUS_ERR_CONFIG_TIMEOUT or FICUS_ERR_CONFIG_INVALID; never returns a half-valid config.
 */
export async function loadConfig(file: string, cwd = process.cwd(), options: LoadConfigOptions = {}): Promise<GatewayConfig> {
  const absolute = resolve(cwd, file)
  const nearby = relative(cwd, absolute)
  const shown = nearby === '' || nearby.startsWith('..') || isAbsolute(nearby) ? absolute : nearby
  try {
    await access(absolute)
  } catch {
    throw fail.configNotFound(`${shown}: no such file (pass the config path, or run from the directory that holds ${DEFAULT_CONFIG_FILE})`, {
      details: { file: absolute },
    })
  }
  let exported: unknown
  try {
    // tsx loads TypeScript and JavaScript alike, whether the file's package is ESM or CommonJS.
    const module = (await importWithin(absolute, shown, options.timeoutMs ?? DEFAULT_CONFIG_TIMEOUT_MS)) as { default?: unknown }
    exported = unwrapCommonJsDefault(module.default)
  } catch (err) {
    if (err instanceof FicusError && err.code === 'FICUS_ERR_CONFIG_TIMEOUT') throw err
    // One line: a compiler's report spans several.
    const reason = (err instanceof Error ? err.message : String(err))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .join(' ')
    throw fail.configLoad(`${shown}: could not be loaded: ${reason}`, { cause: err, details: { file: absolute } })
  }
  if (exported === undefined) {
    throw fail.configLoad(`${shown}: has no default export; write \`export default defineGateway({ ... })\``, {
      details: { file: absolute },
    })
  }
  return validateConfig(exported, shown)
}

/**
 * The import, raced with a timer. The timer keeps the event loop alive, so a top-level await that
 * never settles ends here with a message instead of Node's silent exit 13; the import itself
 * cannot be cancelled, so the caller exits the process.
 */
async function importWithin(absolute: string, shown: string, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        fail.configTimeout(
          `${shown}: did not finish loading within ${timeoutMs} ms (a top-level await that never settles?); set FICUS_CONFIG_TIMEOUT_MS to wait longer`,
          {
            details: { file: absolute, timeoutMs },
          },
        ),
      )
    }, timeoutMs)
  })
  try {
    return await Promise.race([tsImport(absolute, import.meta.url), expired])
  } finally {
    clearTimeout(timer)
  }
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
