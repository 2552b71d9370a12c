// The name syntaxes routes.config.ts checks in more than one place.

/** Slice ids and identity map names: kebab-case, named after the business decision or entity. */
export const KEBAB_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/
export const MAX_ID_LENGTH = 64
/** RFC 9110 §5.1 field-name token. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
