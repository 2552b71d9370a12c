import type { IdDirection } from '../config/types.ts'

export type { IdDirection }

/** One entity's id on each side. */
export interface IdPair {
  readonly legacy: string
  readonly modern: string
}

/** Longest id accepted (an id is a key, not a document). */
export const MAX_ID_CHARS = 256

/** What an import did: pairs written, pairs already there, and pairs refused because an id is mapped to another. */
export interface ImportResult {
  readonly added: number
  readonly unchanged: number
  readonly conflicts: readonly { readonly pair: IdPair; readonly existing: IdPair }[]
}

/** Where one identity map's pairs are kept: a file loaded at start, or Redis. */
export interface IdentityStore {
  readonly kind: 'file' | 'redis'
  open(): Promise<void>
  /** The other side's id, or null when the map has none. Throws when the store cannot answer. */
  get(direction: IdDirection, id: string): Promise<string | null>
  /** Number of pairs. */
  count(): Promise<number>
  /**
   * Adds pairs. A pair whose legacy or new id is already mapped to another id is refused (a conflict),
   * never overwritten: an identity map is one-to-one.
   */
  add(pairs: readonly IdPair[]): Promise<ImportResult>
  close(): Promise<void>
}

/** The problem with an id, or undefined when it is usable. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return 'is empty or not a string'
  if (id.length > MAX_ID_CHARS) return `is longer than ${MAX_ID_CHARS} characters`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'contains a control character'
  return undefined
}
