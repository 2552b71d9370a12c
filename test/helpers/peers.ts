/** What the integration project's files may use and the unit project's may not. */
export type Peer = 'Redis' | 'Kafka' | 'Chromium'

/**
 * Fails at once, saying where the file belongs, when a file of the unit project (which runs with
 * FICUS_TEST_PEERS=none, see vitest.config.ts) reaches for a peer, instead of letting it find the
 * developer's Redis or wait on a broker that was never started.
 */
export function requirePeer(peer: Peer): void {
  if (process.env.FICUS_TEST_PEERS === 'none') {
    throw new Error(`${peer} is not available to unit tests: list this test file in INTEGRATION in vitest.config.ts`)
  }
}
