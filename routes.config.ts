// The example migration: an insurer moving policy administration off its legacy platform ("PAS")
// to new Policy, Billing and Claims contexts, one business decision at a time.
//
// Clients keep calling the legacy URLs; each slice says which of them it owns and where the new
// context answers the same question. Addresses come from the environment (defaults match
// `npm run examples`); nothing secret belongs in this file.
import { fileURLToPath } from 'node:url'
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
      owner: { team: 'policy-platform', contact: '#policy-platform' },
      authority: 'legacy',
      // The customer portal sends its customer id: a percentage rollout moves whole customers,
      // and each keeps the side it got (`npm run clients` shows who is on which side).
      stickyKey: { header: 'x-customer-id' },
      entityKey: { param: 'policyNumber' },
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/policy/:policyNumber/status',
          rewrite: { modern: '/policies/:policyNumber/coverage' },
        },
      ],
      legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
      // Every request is also sent to the Policy context. A mismatch is asked again after 150 ms,
      // then 300, 600… up to 2 s in all (its read model lags; the time to converge is measured).
      // Legacy is asked twice to learn, on repeated evidence, which fields change on their own
      // (asOf). Answers over 256 KiB are not compared (the fleet policy's endorsement list).
      // Sample less in production: every re-ask and double-ask costs one more call.
      shadow: { sample: 100, reask: { delayMs: 150, maxMs: 2_000 }, noise: { sample: 100 }, maxResponseBodyBytes: 256 * 1024 },
      // `ficus reconcile coverage-status --keys …`: every policy asked of both sides, not only those
      // clients happen to ask, at 5 a second, 2 at a time, so that the PAS is not loaded.
      reconcile: { ratePerSecond: 5, concurrency: 2, thresholds: { minAgreement: 95, maxErrorPercent: 1 } },
      // Both answers of the shadowed requests kept for `ficus recompare` (a translation fix proven on
      // yesterday's traffic): encrypted under FICUS_CAPTURE_KEYS, for 24 hours. Capturing refuses to
      // start without a key, so the example captures only where the deployment gives one (the demo does).
      ...(process.env.FICUS_CAPTURE_KEYS ? { capture: { percent: 100, retentionHours: 24 } } : {}),
      translate: {
        version: 'coverage-status/3',
        legacy: {
          rename: {
            '/pol_no': '/policyNumber',
            '/stat_cd': '/status',
            '/eff_dt': '/coverage/start',
            '/exp_dt': '/coverage/end',
            '/holder/name': '/policyholder/fullName',
            '/prem_amt': '/premium/amount',
            '/generated_at': '/asOf',
          },
          // PNDC (pending cancellation) is missing on purpose: the report shows it as untranslated.
          values: { '/status': { ACTV: 'ACTIVE', SUSP: 'SUSPENDED', LAPS: 'LAPSED' } },
          coerce: { '/coverage/start': 'date:YYYYMMDD', '/coverage/end': 'date:YYYYMMDD', '/premium/amount': 'number' },
          set: { '/premium/currency': 'AUD' },
          remove: ['/holder'],
        },
      },
      compare: {
        numericTolerance: 0.005,
        // Never put down to noise: the decision itself.
        critical: ['/status'],
        // Status codes are not personal data: the report shows an unknown one (PNDC) as it is.
        // Other untranslated values, and keys from data in diff paths, are published hashed.
        clearUntranslated: ['/status'],
        // What the new Policy model holds true: legacy data that breaks it is a source-data defect
        // (P-1007's negative premium), not a conflict of the migration.
        model: {
          required: ['/policyNumber', '/status', '/coverage/start'],
          formats: { '/coverage/start': 'date', '/coverage/end': 'date' },
          ranges: { '/premium/amount': { min: 0 } },
        },
      },
    },
    'billing-eligibility': {
      description: 'May this policy be billed and renewed, given its arrears?',
      owner: { team: 'billing', contact: 'billing-team@insurer.example' },
      authority: 'modern',
      stickyKey: { header: 'x-customer-id' },
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/billing/:policyNumber/eligibility',
          rewrite: { modern: '/billing-accounts/:policyNumber/eligibility' },
        },
      ],
      legacy: { headers: { add: { 'x-pas-channel': 'ficus' } } },
      modern: { upstream: 'billing-context', headers: { remove: ['x-pas-session'] } },
      entityKey: { param: 'policyNumber' },
      shadow: { sample: 100 },
      translate: {
        version: 'billing-eligibility/1',
        legacy: {
          rename: { '/pol_no': '/policyNumber', '/elig_flg': '/eligible', '/arrs_amt': '/arrears/amount' },
          values: { '/eligible': { Y: true, N: false } },
          coerce: { '/arrears/amount': 'number' },
          set: { '/arrears/currency': 'AUD' },
        },
      },
    },
    'claim-lodgement': {
      description: 'May a claim be lodged against this policy for this loss date, and lodging it.',
      owner: { team: 'claims', contact: '#claims-migration' },
      authority: 'legacy',
      stickyKey: { header: 'x-customer-id' },
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
      entityKey: { param: 'policyNumber' },
      // Lodging a claim is a write: the Claims context validates it without committing when it
      // sees the dry-run header.
      shadow: { sample: 100, writes: { modern: { dryRunHeader: { name: 'x-ficus-shadow', value: 'dry-run' } } } },
      translate: {
        version: 'claim-lodgement/2',
        legacy: {
          // The escape hatch: the two lodgement answers differ in shape, not only in names.
          fn: (body): Record<string, string | boolean | null> => {
            const legacy = body as Record<string, unknown>
            if ('lodge_ok' in legacy) {
              const reasons: Record<string, string> = { LAPSED: 'POLICY_LAPSED', SUSPENDED: 'POLICY_SUSPENDED', OUT_OF_TERM: 'LOSS_OUTSIDE_COVER' }
              const code = legacy.rsn_cd as string | null
              return { policyNumber: legacy.pol_no as string, permitted: legacy.lodge_ok === 'Y', reason: code === null ? null : (reasons[code] ?? code) }
            }
            return { claimNumber: null, policyNumber: legacy.pol_no as string, lossDate: legacy.loss_dt as string }
          },
        },
      },
      // A lodged claim gets a number from whichever side commits it; dry runs answer without one.
      compare: { ignore: ['/claimNumber', '/dryRun'] },
    },
    'claim-status': {
      description: 'Where does a lodged claim stand?',
      owner: { team: 'claims', contact: '#claims-migration' },
      authority: 'legacy',
      stickyKey: { header: 'x-customer-id' },
      // Clients know claims by legacy claim numbers; the Claims context keys them by ids of its own.
      // The identity map carries each call across — shadow calls now, authoritative ones after the flip.
      routes: [
        {
          method: 'GET',
          path: '/pas/v1/claims/:claimNumber',
          rewrite: { modern: '/claims/v1/claims/:claimNumber' },
          ids: [{ param: 'claimNumber', map: 'claim-ids' }],
        },
      ],
      modern: { upstream: 'claims-context' },
      entityKey: { param: 'claimNumber' },
      // A claim the map does not know yet is answered by legacy even after the flip (and never compared).
      missingIdentity: 'client-side',
      shadow: { sample: 100 },
      translate: {
        version: 'claim-status/1',
        legacy: {
          ids: { '/clm_no': 'claim-ids' },
          rename: { '/clm_no': '/claimId', '/pol_no': '/policyNumber', '/loss_dt': '/lossDate', '/clm_stat': '/status' },
          values: { '/status': { OPN: 'OPEN', CLS: 'CLOSED', REJ: 'REJECTED' } },
          coerce: { '/lossDate': 'date:YYYYMMDD' },
        },
      },
    },
  },
  identityMaps: {
    // Exported when the claims were migrated; `npx ficus ids import claim-ids <file>` appends pairs to it.
    'claim-ids': {
      description: 'Legacy PAS claim numbers ↔ Claims context claim ids',
      file: fileURLToPath(new URL('./examples/claim-ids.csv', import.meta.url)),
    },
  },
})
