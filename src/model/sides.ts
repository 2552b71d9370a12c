/** The two sides of a migration: the legacy system and the new (modern) services. */
export const SIDES = ['legacy', 'modern'] as const
export type Side = (typeof SIDES)[number]
