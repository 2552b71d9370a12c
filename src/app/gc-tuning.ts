import { setFlagsFromString } from 'node:v8'

/** The V8 flag `ficus start` sets before it builds anything (see `tuneHeapForRequests`). */
export const GATEWAY_V8_FLAGS = '--no-allocation-site-pretenuring'

let tuned = false

/**
 * Turns V8's allocation-site pretenuring off for the gateway process. V8 allocates objects straight
 * into the old generation from any allocation site whose objects survived young collections; under
 * request load it picks sites of request-scoped objects (those of requests in flight at a
 * collection), and those objects then die in the old generation while still pointing at young ones,
 * which every later young collection has to keep and copy. Measured on the compiled gateway at
 * 2 000 req/s, routing only: 11 MB survived each young collection and was promoted, and each
 * took 17–29 ms; with pretenuring off, 0.4–0.7 MB and 1–2.5 ms (issue 18; README, Performance).
 * A gateway allocates little that lives long, so it loses nothing by it. Set before the gateway
 * builds anything; V8 reads the flag at each collection.
 */
export function tuneHeapForRequests(): void {
  setFlagsFromString(GATEWAY_V8_FLAGS)
  tuned = true
}

/** Whether this process turned pretenuring off (`ficus start` does unless FICUS_V8_PRETENURING=on; a gateway started in-process does not). */
export function heapTunedForRequests(): boolean {
  return tuned
}
