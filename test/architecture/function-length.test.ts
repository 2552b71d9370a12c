import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.ts'

// The request and comparison paths read as short named steps (ARCHITECTURE.md, "Where a request
// goes"): no function there — nested ones counted inside the one that holds them — runs past this.
const MAX_LINES = 60
const FOLDERS = ['proxy', 'shadow', 'compare']

interface Found {
  readonly where: string
  readonly lines: number
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name) return node.name.getText()
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText()
  return '(anonymous)'
}

/** Every function with a body in `file`, with its length in lines. */
function functionsOf(file: string, text: string): Found[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: Found[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
      found.push({ where: `${relative(ROOT, file)}:${first + 1} ${nameOf(node)}`, lines: last - first + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('the request and comparison paths', () => {
  it(`have no function longer than ${MAX_LINES} lines (src/${FOLDERS.join(', src/')})`, async () => {
    const all: Found[] = []
    for (const folder of FOLDERS) {
      const dir = join(ROOT, 'src', folder)
      for (const name of await readdir(dir)) {
        if (!name.endsWith('.ts')) continue
        const file = join(dir, name)
        all.push(...functionsOf(file, await readFile(file, 'utf8')))
      }
    }
    // The walk found the functions it is meant to measure (a broken parse would pass vacuously).
    expect(all.some((found) => found.where.includes('handle-request.ts') && found.where.endsWith(' handleRequest'))).toBe(true)
    expect(all.filter((found) => found.lines > MAX_LINES).map((found) => `${found.where} (${found.lines} lines)`)).toEqual([])
  })
})
