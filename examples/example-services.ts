import type { FastifyInstance } from 'fastify'
import { createBillingContext } from './billing-context.ts'
import { createClaimsContext } from './claims-context.ts'
import { createLegacyPas } from './legacy-pas.ts'
import { createPolicyContext } from './policy-context.ts'

/**
 * Each example service: the environment variable routes.config.ts reads its URL from, its default
 * port, and the environment variable that sets another port for `npm run examples`.
 */
export const EXAMPLE_SERVICES = [
  { name: 'legacy-pas', env: 'LEGACY_PAS_URL', port: 4101, portEnv: 'LEGACY_PAS_PORT', create: createLegacyPas },
  { name: 'policy-context', env: 'POLICY_CONTEXT_URL', port: 4102, portEnv: 'POLICY_CONTEXT_PORT', create: createPolicyContext },
  { name: 'billing-context', env: 'BILLING_CONTEXT_URL', port: 4103, portEnv: 'BILLING_CONTEXT_PORT', create: createBillingContext },
  { name: 'claims-context', env: 'CLAIMS_CONTEXT_URL', port: 4104, portEnv: 'CLAIMS_CONTEXT_PORT', create: createClaimsContext },
] as const

export type ExampleServiceName = (typeof EXAMPLE_SERVICES)[number]['name']

export interface RunningExamples {
  /** Service name → base URL. */
  readonly urls: Readonly<Record<string, string>>
  /** Environment variable → base URL, ready to hand to routes.config.ts. */
  readonly env: Readonly<Record<string, string>>
  close(): Promise<void>
}

/**
 * Starts every example service: on the port `ports` names, else its default port, or on free ports
 * with `ephemeral`; on 127.0.0.1 unless `host` says otherwise (a container needs 0.0.0.0).
 */
export async function startExampleServices(
  options: { ephemeral?: boolean; host?: string; ports?: Partial<Record<ExampleServiceName, number>> } = {},
): Promise<RunningExamples> {
  const host = options.host ?? '127.0.0.1'
  const apps: FastifyInstance[] = []
  const urls: Record<string, string> = {}
  const env: Record<string, string> = {}
  try {
    for (const service of EXAMPLE_SERVICES) {
      const app = service.create()
      apps.push(app)
      const url = await app.listen({ host, port: options.ephemeral === true ? 0 : (options.ports?.[service.name] ?? service.port) })
      urls[service.name] = url
      env[service.env] = url
    }
  } catch (err) {
    await Promise.all(apps.map((app) => app.close()))
    throw err
  }
  return {
    urls,
    env,
    close: async () => {
      await Promise.all(apps.map((app) => app.close()))
    },
  }
}
