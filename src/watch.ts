import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Calls `onChange` when any of the watched files appears, disappears or changes. Polls stat()
 * instead of fs.watch because editors and our own atomic writes replace files by rename, which
 * fs.watch loses track of, and because polling also works on network and container mounts.
 *
 * A file written in place (`echo … > places.yml`, writeFileSync, some editors) is first emptied, then
 * written: a poll between the two saw an empty file, and for one interval the hub ran on it (no places,
 * so a fix that entered one entered nothing). So a file that changed in place counts once it looks the
 * same at two polls in a row (within a second); one replaced by rename (a new inode: our own writes, the
 * CLI's password changes, editors that save that way) is whole when it appears and counts at once.
 */
export function pollFiles(list: () => string[], onChange: () => void, intervalMs = 500): () => void {
  const look = () => {
    let ids = ''
    let sig = ''
    for (const f of list()) {
      try {
        const s = statSync(f)
        ids += `${f}:${s.ino}|`
        sig += `${f}:${s.mtimeMs}:${s.size}:${s.ino}|`
      } catch {
        ids += `${f}:-|`
        sig += `${f}:-|`
      }
    }
    return { ids, sig }
  }
  let last = look()
  let seen = last.sig
  const timer = setInterval(() => {
    const now = look()
    if (now.sig !== last.sig && (now.sig === seen || now.ids !== last.ids)) { last = now; onChange() }
    seen = now.sig
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
