/** Public API of Ficus, for routes.config.ts and for embedding the gateway. */
export { defineGateway } from './config/define-gateway.ts'
export type { GatewayConfigInput, RouteInput, SliceInput, SliceSideInput, UpstreamInput, Side, RouteMethod } from './config/schema.ts'
export type { GatewayConfig } from './config/types.ts'
export { loadConfig } from './config/load.ts'
export { validateConfig } from './config/validate.ts'
export { FicusError, ERROR_CODES, type ErrorCode } from './errors/errors.ts'
export { buildGateway, type GatewayDeps } from './proxy/gateway.ts'
