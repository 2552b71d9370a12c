import { createHash } from 'node:crypto'
import type { Side } from '../config/schema.ts'
import { BUCKETS, isRollout, modernBasisPoints, type Authority } from '../model/authority-value.ts'

/**
 * The stable bucket (0 … 9 999) of a rollout key within a slice. The slice id is part of the hash so
 * that one customer does not land first in every rollout at once.
 */
export function bucketOf(sliceId: string, key: string): number {
  const digest = createHash('sha256').update(sliceId).update('\0').update(key).digest()
  return digest.readUInt32BE(0) % BUCKETS
}

/**
 * The side a request is sent to. A rollout of N basis points sends buckets below N to modern: raising
 * N only ever moves buckets from legacy to modern, so a customer never flips back as a rollout grows.
 * `key` is only asked for when the authority is a rollout.
 */
export function chooseSide(sliceId: string, authority: Authority, key: () => string): Side {
  if (!isRollout(authority)) return authority
  return bucketOf(sliceId, key()) < modernBasisPoints(authority) ? 'modern' : 'legacy'
}
