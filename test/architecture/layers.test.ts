import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.ts'

// ARCHITECTURE.md is the map; this test keeps the code on it. Its "Layers" block lists the folders
// of src/ from the top (may import anything below) to the bottom (imports nothing of Ficus).

const SRC = join(ROOT, 'src')
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Every file of src/ with the src/ files it imports (type-only imports included). */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>()
  for (const file of await sourceFiles(SRC)) {
    const text = await readFile(file, 'utf8')
    const targets = [...text.matchAll(IMPORT)].map((match) => relative(SRC, resolve(dirname(file), (match[1] ?? match[2]) as string)))
    graph.set(relative(SRC, file), targets)
  }
  return graph
}

/** The layers, top first, from ARCHITECTURE.md's fenced block under "## Layers". */
async function layers(): Promise<string[]> {
  const text = await readFile(join(ROOT, 'ARCHITECTURE.md'), 'utf8')
  const block = /## Layers[\s\S]*?```\n([\s\S]*?)```/.exec(text)?.[1]
  if (!block) throw new Error('ARCHITECTURE.md has no fenced block under "## Layers"')
  return block
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '')
}

/** Each folder's line of the fenced block under "## What each folder imports": folder → the folders it imports. */
async function statedImports(): Promise<Map<string, string[]>> {
  const text = await readFile(join(ROOT, 'ARCHITECTURE.md'), 'utf8')
  const block = /## What each folder imports[\s\S]*?```\n([\s\S]*?)```/.exec(text)?.[1]
  if (!block) throw new Error('ARCHITECTURE.md has no fenced block under "## What each folder imports"')
  const stated = new Map<string, string[]>()
  for (const line of block.split('\n')) {
    const [folder, ...imports] = line.trim().split(/\s+/)
    if (folder) stated.set(folder, imports.sort())
  }
  return stated
}

const folderOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : '(entry)')

describe('the architecture', () => {
  it('src/ holds only the package entry; every other file is in a folder ARCHITECTURE.md names', async () => {
    const graph = await importGraph()
    const order = await layers()
    const loose = [...graph.keys()].filter((file) => !file.includes('/') && file !== 'index.ts')
    expect(loose).toEqual([])
    const unknown = [...new Set([...graph.keys()].map(folderOf))].filter((folder) => folder !== '(entry)' && !order.includes(folder))
    expect(unknown).toEqual([])
    const missing = order.filter((folder) => ![...graph.keys()].some((file) => folderOf(file) === folder))
    expect(missing).toEqual([])
  })

  it('imports go one way: a folder imports only itself and the folders below it', async () => {
    const graph = await importGraph()
    const order = await layers()
    const rank = (folder: string): number => (folder === '(entry)' ? -1 : order.indexOf(folder))
    const upward: string[] = []
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = folderOf(file)
        const to = folderOf(target)
        if (from !== to && rank(to) <= rank(from)) upward.push(`${file} → ${target}`)
      }
    }
    expect(upward).toEqual([])
  })

  it('no file-level import cycles', async () => {
    const graph = await importGraph()
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
        return
      }
      state.set(file, 'open')
      for (const target of graph.get(file) ?? []) visit(target, [...path, file])
      state.set(file, 'done')
    }
    for (const file of graph.keys()) visit(file, [])
    expect(cycles).toEqual([])
  })

  it('ARCHITECTURE.md states exactly the folders each folder imports', async () => {
    const graph = await importGraph()
    const actual = new Map<string, Set<string>>((await layers()).map((folder) => [folder, new Set<string>()]))
    for (const [file, targets] of graph) {
      const from = folderOf(file)
      for (const target of targets) if (folderOf(target) !== from) actual.get(from)?.add(folderOf(target))
    }
    const stated = await statedImports()
    expect(Object.fromEntries(stated)).toEqual(Object.fromEntries([...actual].map(([folder, imports]) => [folder, [...imports].sort()])))
  })
})
