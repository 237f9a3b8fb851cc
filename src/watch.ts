import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Calls `onChange` when any of the watched files appears, disappears or changes. Polls stat()
 * instead of fs.watch because editors and our own atomic writes replace files by rename, which
 * fs.watch loses track of, and because polling also works on network and container mounts.
 *
 * A change counts once the files look the same at two polls in a row, so a change is taken within two
 * intervals (a second). A file written in place (`echo … > places.yml`, writeFileSync, some editors) is
 * first emptied, then written: a poll between the two saw an empty file, and for one interval the hub ran
 * on it (no places, so a fix that entered one entered nothing). A file that changes at every poll is
 * taken once it stops.
 */
export function pollFiles(list: () => string[], onChange: () => void, intervalMs = 500): () => void {
  const signature = () => list().map((f) => {
    try { const s = statSync(f); return `${f}:${s.mtimeMs}:${s.size}:${s.ino}` } catch { return `${f}:-` }
  }).join('|')
  let last = signature()
  let seen = last
  const timer = setInterval(() => {
    const now = signature()
    if (now !== last && now === seen) { last = now; onChange() }
    seen = now
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
