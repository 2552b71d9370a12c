import { configDefaults, defineConfig } from 'vitest/config'

/**
 * Test files that need a real peer — Redis (the shared server on 6379 or a private redis-server), a
 * Kafka broker (the JVM the global set-up starts, or one of their own), Chromium — or that start
 * Ficus or a tool as a process, or push a load through it. They make up the `integration` project
 * (and `integration-serial`), the only ones with the global set-up; every other file is `unit`: in-process, no peer, fast
 * (`npm run test:unit`, issue 15 point 5). A new file is unit until it is listed here.
 */
const INTEGRATION = [
  // Redis
  'test/admin/noise-decisions.test.ts',
  'test/authority/redis-authority-store.test.ts',
  'test/authority/redis-outage.test.ts',
  'test/authority/store-faults.test.ts',
  'test/gateway/two-instances.test.ts',
  'test/gateway/workers.test.ts',
  'test/identity/redis-identity.test.ts',
  'test/identity/redis-identity-hostile.test.ts',
  'test/shadow/causation-redis.test.ts',
  'test/reconcile/reconcile-redis.test.ts',
  'test/register/redis-discrepancy-register.test.ts',
  'test/register/redis-register-stats.test.ts',
  'test/register/redis-triage-store.test.ts',
  'test/report/report-state-fencing.test.ts',
  // Redis, Kafka and Chromium
  'test/authority/admin-without-evidence.test.ts',
  // Kafka (and Redis for the reporter)
  'test/kafka/**/*.test.ts',
  'test/capture/capture-kafka.test.ts',
  'test/privacy/planted-data.test.ts',
  'test/publish/broker-stall.test.ts',
  'test/publish/crash-loss.test.ts',
  'test/publish/durable-write.test.ts',
  'test/publish/kafka-outage.test.ts',
  'test/publish/kafka-sink.test.ts',
  'test/publish/write-ahead-cost.test.ts',
  'test/report/report-cli.test.ts',
  'test/report/report-sources.test.ts',
  'test/report/reporter.test.ts',
  'test/report/reporter-skips.test.ts',
  'test/report/reporter-broker-freeze.test.ts',
  'test/report/reporter-faults.test.ts',
  'test/report/reporter-supervision.test.ts',
  // Chromium
  'test/admin/dashboard.test.ts',
  'test/admin/dashboard-backlog.test.ts',
  'test/report/html-report.test.ts',
  // Ficus, the CLI, a build or a benchmark as a process
  'test/authority/change-events-durable.test.ts',
  'test/bench-smoke.test.ts',
  'test/capture/capture-start.test.ts',
  'test/build.test.ts',
  'test/cli-admin.test.ts',
  'test/cli-control-characters.test.ts',
  'test/cli-help.test.ts',
  'test/cli.test.ts',
  'test/demo.test.ts',
  'test/front-door/upstream-tls.test.ts',
  'test/main/gc-tuning.test.ts',
  'test/main/shutdown.test.ts',
  'test/report/readiness-guard.test.ts',
  'test/shadow/skip-aggregates.test.ts',
  'test/start/start-failures.test.ts',
  // Load
  'test/report/large-stream.test.ts',
  'test/reconcile/reconcile-load.test.ts',
]

/**
 * Files whose assertions hold a deadline or a rate tight enough that a second file competing for
 * the cores could break them (a close within 1 100 ms, a re-ask's measured lag, writes per second
 * with an fsync each), or that read a server-wide counter of the shared Redis. They run one at a
 * time, after every other file: `unit-serial` and `integration-serial`.
 */
const SERIAL_UNIT = [
  'test/gateway/upstream-failures.test.ts',
  'test/publish/loss-window.test.ts',
  'test/shadow/captured-call.test.ts',
  'test/shadow/verdicts.test.ts',
]
const SERIAL_INTEGRATION = [
  'test/authority/redis-authority-store.test.ts',
  'test/authority/store-faults.test.ts',
  'test/identity/redis-identity-hostile.test.ts',
  'test/publish/broker-stall.test.ts',
  'test/publish/kafka-outage.test.ts',
  'test/publish/write-ahead-cost.test.ts',
  'test/reconcile/reconcile-load.test.ts',
  'test/report/reporter-faults.test.ts',
]

/** In-process tests: no peers, and a unit file that reaches for one fails at once instead of finding the developer's. */
const UNIT_ENV = { FICUS_TEST_PEERS: 'none', REDIS_TEST_URL: 'redis://127.0.0.1:1', REDIS_URL: '', KAFKA_BROKERS: '' }

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers and real sockets: keep files isolated in their own processes.
    pool: 'forks',
    // Two files at a time even on a 2-core machine (vitest's default there is one): most integration
    // files spend their time waiting on brokers, timers and child processes, not on a core, and run
    // one after another the suite took over 15 minutes. Files share nothing that another could break:
    // unique topics, Redis prefixes and data directories, and private brokers or Redis servers for
    // the ones that freeze or kill them. The SERIAL files run alone, afterwards.
    maxWorkers: 2,
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // In-process tests: worker threads start faster than forks, which keeps the project under a minute.
          pool: 'threads',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...INTEGRATION, ...SERIAL_UNIT, ...SERIAL_INTEGRATION],
          // No peers here, and a unit file that reaches for one fails at once instead of finding
          // the developer's: the Redis, Kafka and browser helpers refuse (test/helpers/peers.ts),
          // the test Redis is a port nothing listens on, and the processes the tests spawn inherit
          // no Redis or brokers.
          env: UNIT_ENV,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: [...configDefaults.exclude, ...SERIAL_INTEGRATION],
          globalSetup: ['test/setup/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-serial',
          include: SERIAL_INTEGRATION,
          globalSetup: ['test/setup/global-setup.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'unit-serial',
          include: SERIAL_UNIT,
          env: UNIT_ENV,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
