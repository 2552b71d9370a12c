import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers and real sockets: keep files isolated in their own processes.
    pool: 'forks',
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  },
})
