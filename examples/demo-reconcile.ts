// The demo's reconciliation workbench, part 2: a reconciliation run over every example policy, and a
// dry run of the candidate config's translation fix over the pairs the gateway captured.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import type { Settings } from '../src/app/settings.ts'
import { startReconcile } from '../src/app/start-reconcile.ts'
import { main } from '../src/cli/cli.ts'
import type { GatewayConfig } from '../src/config/types.ts'
import { renderRunSummary } from '../src/reconcile/run-summary.ts'

/** The repository's root: the demo's paths are shown as the README writes them. */
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const KEYS_FILE = 'examples/reconcile-keys.txt'
const CANDIDATE_CONFIG = 'examples/candidate-config.ts'

/** A capture key made for one demo run (`<keyId>:<base64 of 32 bytes>`): its captures die with the demo's folder. */
export function demoCaptureKey(): string {
  return `demo:${randomBytes(32).toString('base64')}`
}

/**
 * `ficus reconcile coverage-status --keys examples/reconcile-keys.txt`, beside the running gateway
 * as a nightly job runs it: every example policy asked of both sides, judged like live traffic.
 * Resolves with the run's summary as the command prints it.
 */
export async function reconcileExamplePolicies(settings: Settings, config: GatewayConfig, logger: Logger): Promise<string> {
  const { summary } = await startReconcile(settings, config, {
    slice: 'coverage-status',
    runId: `demo-${randomBytes(3).toString('hex')}`,
    keys: { path: KEYS_FILE, cwd: ROOT, stdin: process.stdin },
    // Faster than the slice's nightly pace (5 a second): the example services are the demo's own.
    ratePerSecond: 20,
    signal: new AbortController().signal,
    logger,
  })
  return renderRunSummary(summary)
}

/**
 * `ficus recompare coverage-status --since 1h --config examples/candidate-config.ts --dry-run`: the
 * pairs the gateway captured, judged again under the candidate's translation fix (PNDC mapped).
 * Resolves with what the command printed.
 */
export async function recompareCandidate(env: NodeJS.ProcessEnv): Promise<string> {
  let text = ''
  const collect = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8')
      done()
    },
  })
  const code = await main(['recompare', 'coverage-status', '--since', '1h', '--config', CANDIDATE_CONFIG, '--dry-run'], {
    env,
    stdout: collect,
    stderr: collect as unknown as NodeJS.WriteStream,
    cwd: ROOT,
  })
  return code === 0 ? text : `recompare exited ${code}:\n${text}`
}
