import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Calls `onChange` when any of the watched files appears, disappears or changes. Polls stat()
 * instead of fs.watch because editors and our own atomic writes replace files by rename, which
 * fs.watch loses track of, and because polling also works on network and container mounts.
 */
export function pollFiles(list: () => string[], onChange: () => void, intervalMs = 500): () => void {
  const signature = () => list().map((f) => {
    try { const s = statSync(f); return `${f}:${s.mtimeMs}:${s.size}:${s.ino}` } catch { return `${f}:-` }
  }).join('|')
  let last = signature()
  const timer = setInterval(() => {
    const now = signature()
    if (now !== last) { last = now; onChange() }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** The files in `dir` whose names end with one of `exts`, sorted; [] when the directory is missing. */
export function filesIn(dir: string, exts: string[]): string[] {
  try {
    return readdirSync(dir).filter((n) => exts.some((e) => n.endsWith(e))).sort().map((n) => join(dir, n))
  } catch {
    return []
  }
}
