// The Ficus config of the bench: one slice over /small/:id and /large/:id, legacy authoritative,
// shadowed to modern (100 %, or FICUS_BENCH_SAMPLE percent) unless FICUS_BENCH_SHADOW=off.
// Addresses from the environment. Shadow limits wide enough that 100 % shadow is 100 % at full load,
// or Ficus's defaults (32 at once, 128 waiting) with FICUS_BENCH_LIMITS=default: the slow and
// failing modern sides run as a deployment would, whose limits protect client traffic.
export default {
  name: 'bench',
  gateway: process.env.FICUS_BENCH_LIMITS === 'default' ? {} : { shadow: { concurrency: 256, queue: 1024 } },
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: {
    legacy: { url: process.env.BENCH_LEGACY_URL ?? 'http://127.0.0.1:1', connections: 128 },
    modern: { url: process.env.BENCH_MODERN_URL ?? 'http://127.0.0.1:2', connections: 128, timeoutMs: 2_000 },
  },
  slices: {
    'policy-read': {
      description: 'Bench: reading a policy',
      authority: 'legacy',
      routes: [
        { method: 'GET', path: '/small/:id' },
        { method: 'GET', path: '/large/:id' },
      ],
      ...(process.env.FICUS_BENCH_SHADOW === 'off' ? {} : { shadow: { sample: Number(process.env.FICUS_BENCH_SAMPLE ?? 100), timeoutMs: 2_000 } }),
    },
  },
}
