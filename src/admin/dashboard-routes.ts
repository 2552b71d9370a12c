import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

/**
 * The dashboard's page and assets (src/admin/dashboard/, shipped with the package, no CDN), served
 * without the token: they hold no data. Every answer carries a strict Content Security Policy:
 * only this origin's script and style, API calls to this origin, no framing, no form posts.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const ASSETS = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/discrepancy-backlog.js': { file: 'discrepancy-backlog.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
} as const

export function registerDashboard(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', DASHBOARD_CSP)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
  })
  for (const [path, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./dashboard/${asset.file}`, import.meta.url))
    app.get(path, (_request, reply) => reply.type(asset.type).header('cache-control', 'no-cache').send(body))
  }
}
