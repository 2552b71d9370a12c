import { mkdir, open, readFile, truncate } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The lines of an append-only JSON-lines log (noise decisions, triage actions), read at start. A
 * last line without its newline was torn by a crash mid-write and never acknowledged: it is cut off
 * the file, so that the next append starts a line of its own instead of being glued to the fragment
 * (and lost at the following read), unless `readOnly`. A missing file has no lines.
 */
export async function readDurableLines(
  file: string,
  options: { readonly readOnly?: boolean } = {},
): Promise<{ readonly lines: readonly string[]; readonly tornBytes: number }> {
  let text = ''
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1)
  const tornBytes = Buffer.byteLength(text) - Buffer.byteLength(complete)
  // A reader beside a live writer (`ficus report` on a gateway's data directory) sees a line being
  // appended as torn: it skips it and never cuts the file.
  if (tornBytes > 0 && options.readOnly !== true) await truncate(file, Buffer.byteLength(complete))
  return { lines: complete.split('\n').filter((line) => line.trim() !== ''), tornBytes }
}

/** Appends one line and fsyncs it: once this resolves, the line survives a crash of the machine. */
export async function appendDurableLine(file: string, line: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const handle = await open(file, 'a')
  try {
    await handle.appendFile(`${line}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
