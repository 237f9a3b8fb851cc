import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'

/** A LevelDB handle as the hub holds it (history, broker); iterated and copied byte for byte. */
export interface Database {
  name: string
  db: {
    iterator(o: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): { nextv(n: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> }
  }
}

export interface BackupSources {
  dataDir: string
  aclDir: string
  databases: Database[]
  version: string
  /** Said in the manifest as where it came from (default: the data directory). */
  from?: string
}

export interface Manifest {
  format: 1
  hub: string
  created: string
  from: string
  databases: Record<string, { keys: number }>
  files: string[]
  acl: string[]
}

const MANIFEST = 'backup.json'
const ASIDE = '.before-restore-'

/**
 * Writes a backup of the data directory (and the rules in the acl directory) into `dest`, which must
 * be missing or empty. The databases are copied from LevelDB snapshots taken in the same instant (an
 * iterator reads the database as it was when it was created), so the copy is consistent while the
 * hub keeps running; it is a fresh, compacted database, not a copy of the files. Everything else in
 * the data directory (password file, admins, certificates…) is copied as files.
 * The result is itself a data directory: `restore` copies it back, or point --data at a copy of it.
 */
export async function takeBackup(src: BackupSources, dest: string, progress: (line: string) => void = () => {}): Promise<Manifest> {
  if (existsSync(dest) && readdirSync(dest).length > 0) throw new Error(`backup directory ${dest} is not empty; give a new or empty one`)
  mkdirSync(dest, { recursive: true, mode: 0o700 })
  chmodSync(dest, 0o700) // it holds the password file
  // All snapshots first, synchronously, so no write lands between them.
  const its = src.databases.map((d) => ({ name: d.name, it: d.db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }) }))
  const manifest: Manifest = { format: 1, hub: src.version, created: new Date().toISOString(), from: src.from ?? src.dataDir, databases: {}, files: [], acl: [] }
  try {
    for (const { name, it } of its) {
      const out = new Level<Buffer, Buffer>(join(dest, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
      await out.open()
      let keys = 0
      try {
        for (;;) {
          const entries = await it.nextv(2000)
          if (entries.length === 0) break
          await out.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })))
          keys += entries.length
          if (keys % 100_000 < entries.length) progress(`${name}: ${keys} keys`)
        }
      } finally {
        await out.close()
      }
      manifest.databases[name] = { keys }
      progress(`${name}: ${keys} keys copied`)
    }
  } finally {
    await Promise.all(its.map(({ it }) => it.close()))
  }
  const skip = new Set([...src.databases.map((d) => d.name), 'control.sock'])
  manifest.files = copyFiles(src.dataDir, dest, (name) => !skip.has(name))
  if (existsSync(src.aclDir)) manifest.acl = copyFiles(src.aclDir, join(dest, 'acl'), () => true)
  writeFileSync(join(dest, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
  progress(`backup of ${src.dataDir} written to ${dest}`)
  return manifest
}

/** Copies regular files and folders (not sockets, not earlier restores' leftovers); returns their names. */
function copyFiles(from: string, to: string, keep: (name: string) => boolean): string[] {
  const names: string[] = []
  for (const name of readdirSync(from)) {
    if (!keep(name) || name.startsWith(ASIDE)) continue
    const st = lstatSync(join(from, name))
    if (!st.isFile() && !st.isDirectory()) continue
    if (st.isDirectory() && existsSync(join(from, name, 'LOCK'))) {
      throw new Error(`${join(from, name)} is a LevelDB database the backup does not know how to snapshot; it must be registered in hub.ts`)
    }
    mkdirSync(to, { recursive: true })
    cpSync(join(from, name), join(to, name), { recursive: true })
    names.push(name)
  }
  return names
}

export function readManifest(dir: string): Manifest {
  let m: Manifest
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    throw new Error(`${dir} is not an owntracks-hub backup: ${join(dir, MANIFEST)} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read'}`)
  }
  if (m.format !== 1) throw new Error(`${join(dir, MANIFEST)}: backup format ${m.format} is unknown to this hub (knows 1)`)
  return m
}

export interface RestoreResult { manifest: Manifest; movedAside: string[]; aclKept: boolean }

/**
 * Copies a backup into `dataDir` (and its rules into `aclDir`); the hub must be stopped. A data
 * directory that is not empty is only replaced with `force`, and even then its contents are moved into
 * `<data>/.before-restore-<time>/`, not deleted (the directory itself may be a Docker volume, which
 * cannot be renamed). The rules are restored when the acl directory is empty, or with `force`.
 */
export function restoreBackup(backup: string, dataDir: string, aclDir: string, force: boolean, progress: (line: string) => void = () => {}): RestoreResult {
  const manifest = readManifest(backup)
  const movedAside: string[] = []
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const aside = (dir: string) => {
    const present = existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith(ASIDE)) : []
    if (present.length === 0) return true
    if (!force) return false
    const place = join(dir, ASIDE + stamp)
    mkdirSync(place, { mode: 0o700 })
    for (const n of present) renameSync(join(dir, n), join(place, n))
    movedAside.push(place)
    progress(`moved what was in ${dir} to ${place}`)
    return true
  }
  if (!aside(dataDir)) throw new Error(`data directory ${dataDir} is not empty; stop the hub and add --force to move its contents aside (into ${join(dataDir, ASIDE)}<time>) and restore`)
  mkdirSync(dataDir, { recursive: true })
  for (const name of [...Object.keys(manifest.databases), ...manifest.files]) {
    cpSync(join(backup, name), join(dataDir, name), { recursive: true })
  }
  progress(`restored ${Object.entries(manifest.databases).map(([n, d]) => `${n} (${d.keys} keys)`).join(', ')} and ${manifest.files.length} file(s) into ${dataDir}`)
  let aclKept = false
  if (manifest.acl.length > 0) {
    if (aside(aclDir)) {
      mkdirSync(aclDir, { recursive: true })
      for (const name of manifest.acl) cpSync(join(backup, 'acl', name), join(aclDir, name), { recursive: true })
      progress(`restored ${manifest.acl.length} rule file(s) into ${aclDir}`)
    } else {
      aclKept = true
      progress(`${aclDir} already has rules: left as they are (the backup's are in ${join(backup, 'acl')}; --force replaces them)`)
    }
  }
  return { manifest, movedAside, aclKept }
}
