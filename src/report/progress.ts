/**
 * A one-line progress indicator on a terminal (standard error); silent when standard error is not
 * a terminal, as in CI and pipes.
 */
export function progressLine(
  stream: { isTTY?: boolean; write(text: string): unknown },
  label: string,
): { update: (done: number, total: number) => void; end: () => void } {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined }
  let last = 0
  return {
    update: (done, total) => {
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      const share = total > 0 ? Math.min(1, done / total) : 1
      const width = 30
      const filled = Math.round(share * width)
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0)} %`)
    },
    end: () => {
      stream.write('\r\x1b[2K')
    },
  }
}
