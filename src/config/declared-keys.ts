import type { TranslationRules } from '../compare/translate.ts'
import type { CompareInput, TranslateInput } from './schema.ts'

/**
 * The object keys a slice's config names: every literal segment of its compare paths (ignore,
 * unorderedArrays and their keys, critical, redact, clearKeys, clearUntranslated, model rules),
 * of its translate paths (rename both ways, values, coerce, set, remove, and the keys of `set`
 * values), and the property names of its JSON Schema. These are the slice's declared shape: keys
 * in diff paths that are not among them come from data and are published hashed
 * (src/compare/published-paths.ts). Position does not matter: a word the config spells out is
 * vocabulary, not personal data, wherever it turns up — also in legacy-only fields of a diff.
 */
export function declaredKeys(compare: CompareInput | undefined, translate: TranslateInput | undefined): string[] {
  const names = new Set<string>()
  const addPath = (pointer: string): void => {
    // Invalid pointers are reported by validation; here they only add nothing.
    if (!pointer.startsWith('/')) return
    for (const segment of pointer.slice(1).split('/')) {
      const key = segment.replace(/~1/g, '/').replace(/~0/g, '~')
      if (key !== '*' && key !== '') names.add(key)
    }
  }
  const addPaths = (pointers: Iterable<string> | undefined): void => {
    for (const pointer of pointers ?? []) addPath(pointer)
  }

  addPaths(compare?.ignore)
  for (const rule of compare?.unorderedArrays ?? []) {
    addPath(rule.path)
    if (rule.key !== undefined) names.add(rule.key)
  }
  addPaths(compare?.critical)
  addPaths(compare?.values?.redact)
  addPaths(compare?.clearKeys)
  addPaths(compare?.clearUntranslated)
  const model = compare?.model
  addPaths(model?.required)
  addPaths(Object.keys(model?.values ?? {}))
  addPaths(Object.keys(model?.formats ?? {}))
  addPaths(Object.keys(model?.ranges ?? {}))
  if (model?.schema !== undefined) addSchemaNames(model.schema, names)
  for (const rules of [translate?.legacy, translate?.modern]) if (rules) addTranslationKeys(rules, addPaths, names)
  return [...names].sort()
}

function addTranslationKeys(rules: TranslationRules, addPaths: (pointers: Iterable<string>) => void, names: Set<string>): void {
  addPaths(Object.keys(rules.rename ?? {}))
  addPaths(Object.values(rules.rename ?? {}))
  addPaths(Object.keys(rules.values ?? {}))
  addPaths(Object.keys(rules.coerce ?? {}))
  addPaths(Object.keys(rules.set ?? {}))
  addPaths(rules.remove ?? [])
  for (const value of Object.values(rules.set ?? {})) addObjectKeys(value, names)
}

/** Keys of objects inside a value the config sets (`set: { '/premium': { currency: 'AUD' } }`). */
function addObjectKeys(value: unknown, names: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) addObjectKeys(item, names)
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      names.add(key)
      addObjectKeys(inner, names)
    }
  }
}

/** Property names a JSON Schema declares (`properties`, `required`), at any depth. */
function addSchemaNames(schema: unknown, names: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const item of schema) addSchemaNames(item, names)
    return
  }
  if (schema === null || typeof schema !== 'object') return
  const node = schema as Record<string, unknown>
  const properties = node.properties
  if (properties !== null && typeof properties === 'object' && !Array.isArray(properties)) for (const key of Object.keys(properties)) names.add(key)
  if (Array.isArray(node.required)) for (const key of node.required) if (typeof key === 'string') names.add(key)
  for (const inner of Object.values(node)) addSchemaNames(inner, names)
}
