// The example migration: an insurer moving policy administration off its legacy platform ("PAS")
// to new Policy, Billing and Claims contexts, one business decision at a time.
//
// Clients keep calling the legacy URLs; each slice says which of them it owns and where the new
// context answers the same question. Addresses come from the environment (defaults match
// `npm run examples`); nothing secret belongs in this file.
import { defineGateway } from 'ficus'

const env = (name: string, fallback: string): string => process.env[name] ?? fallback

export default defineGateway({
  name: 'insurer-policy-admin',
  gateway: {
    fallthrough: 'legacy', // anything no slice claims stays on the legacy platform
  },
  sides: { legacy: 'legacy-pas', modern: 'policy-context' },
  upstreams: {
    'legacy-pas': { url: env('LEGACY_PAS_URL', 'http://127.0.0.1:4101'), timeoutMs: 5_000, connections: 32 },
    'policy-context': { url: env('POLICY_CONTEXT_URL', 'http://127.0.0.1:4102'), timeoutMs: 2_000 },
    'billing-context': { url: env('BILLING_CONTEXT_URL', 'http://127.0.0.1:4103'), timeoutMs: 2_000 },
    'claims-context': { url: env('CLAIMS_CONTEXT_URL', 'http://127.0.0.1:4104'), timeoutMs: 3_000 },
  },
  slices: {
    'coverage-status': {
      description: 'Is this policy in force today, and for which period?',
      authority: 'legacy',
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/policy/:policyNumber/status',
          rewrite: { modern: '/policies/:policyNumber/coverage' },
        },
      ],
      legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
    },
    'billing-eligibility': {
      description: 'May this policy be billed and renewed, given its arrears?',
      authority: 'modern',
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/billing/:policyNumber/eligibility',
          rewrite: { modern: '/billing-accounts/:policyNumber/eligibility' },
        },
      ],
      legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
      modern: { upstream: 'billing-context', headers: { remove: ['x-pas-session'] } },
    },
    'claim-lodgement': {
      description: 'May a claim be lodged against this policy for this loss date, and lodging it.',
      authority: 'legacy',
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/policy/:policyNumber/claims/lodgement-check',
          rewrite: { modern: '/claims/v1/policies/:policyNumber/lodgement-eligibility' },
        },
        { method: 'POST', path: '/pas/v1/claims', rewrite: { modern: '/claims/v1/claims' } },
      ],
      legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
      modern: { upstream: 'claims-context', headers: { remove: ['x-pas-session'] } },
    },
  },
})
