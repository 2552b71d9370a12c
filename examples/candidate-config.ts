// A candidate config, not deployed: the example's routes with the translation fix for PNDC
// (pending cancellation), the legacy status code coverage-status does not translate yet. Prove it
// on captured traffic before it ships:
//
//   npx ficus recompare coverage-status --since 24h --config examples/candidate-config.ts --dry-run
//
// The demo (`npm run demo`) runs that dry run and prints what would change.
import { defineGateway } from 'ficus'
import deployed from '../routes.config.ts'

const coverage = deployed.slices['coverage-status']
const legacy = coverage.translate.legacy

export default defineGateway({
  ...deployed,
  slices: {
    ...deployed.slices,
    'coverage-status': {
      ...coverage,
      translate: {
        ...coverage.translate,
        version: 'coverage-status/4',
        legacy: { ...legacy, values: { '/status': { ...legacy.values['/status'], PNDC: 'PENDING_CANCELLATION' } } },
      },
    },
  },
})
