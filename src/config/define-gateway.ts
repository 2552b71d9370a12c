import type { GatewayConfigInput } from './schema.ts'

/**
 * Declares a gateway in routes.config.ts. It returns its argument unchanged: its job is to give the
 * editor the config's type (completion, inline errors). The same shape is validated again at start,
 * because a config file can be plain JavaScript, or cast its way past the type checker.
 */
export function defineGateway<const T extends GatewayConfigInput>(config: T): T {
  return config
}
