import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { importRecord, isSkipped, type Skipped } from './import-record.js'
import type { HistoryRecord } from './types.js'

/**
 * Reading an OwnTracks Recorder store (its STORE.md and recorder.c), for `import recorder`:
 *
 *   rec/<user>/<device>/YYYY-MM.rec        one message a line: `<ISO time>\t<relative topic>\t<JSON>`,
 *                                          the topic padded to 18 characters ('*' for the device topic,
 *                                          'lwt' for wills, 'event', 'step', … for the rest)
 *   last/<user>/<device>/<user>-<device>.json   the newest location, plus topic/username/device/ghash
 *   cards/<user>/<user>.json               a user's card (older Recorders), or
 *   cards/<user>/<device>/<user>-<device>.json  a device's card
 *   waypoints/<user>/<device>/<time>.json  one shared region, plus the same four fields as last/;
 *   waypoints/<user>/<device>/<user>-<device>.otrw   the device's whole waypoints list
 *
 * Everything else (ghash/, photos/, config/ with the phones' passwords, monitor) is not history.
 * Messages without a time of their own are keyed by the line's time or the file's mtime, so a
 * second import finds the same keys and adds nothing.
 */

export type StoreFileKind = 'rec' | 'last' | 'card' | 'waypoint' | 'waypoints'

export interface StoreFile {
  path: string
  /** Relative to the store, for messages. */
  name: string
  kind: StoreFileKind
  user: string
  /** The devices the file's messages belong to (an old per-user card: all of the user's devices). */
  devices: string[]
  size: number
}

/** Not a store, or a file in it that cannot be read: the message says which and what to do. */
export class ImportError extends Error {}

export type StoreItem = HistoryRecord | (Skipped & { where: string })

/** The fields the Recorder adds to what it keeps in last/ and waypoints/: not part of the message. */
const ADDED = ['topic', 'username', 'device', 'ghash']

const dirs = (p: string) => (existsSync(p) ? readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort() : [])
const files = (p: string, test: (name: string) => boolean) => (existsSync(p) ? readdirSync(p, { withFileTypes: true }).filter((e) => e.isFile() && test(e.name)).map((e) => e.name).sort() : [])

/** Every file of the store worth reading, rec/ first (months in order), then last/, cards/, waypoints/. */
export function listRecorderStore(dir: string): StoreFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ImportError(`${dir} is not a directory; give the Recorder's storage directory (its --storage, often /var/spool/owntracks/recorder/store)`)
  if (!['rec', 'last', 'cards', 'waypoints'].some((d) => existsSync(join(dir, d)))) {
    throw new ImportError(`${dir} holds none of rec/, last/, cards/, waypoints/: is it the Recorder's storage directory?`)
  }
  const out: StoreFile[] = []
  const add = (kind: StoreFileKind, user: string, devices: string[], ...parts: string[]) => {
    const name = join(...parts)
    out.push({ path: join(dir, name), name, kind, user, devices, size: statSync(join(dir, name)).size })
  }
  const userDevices = new Map<string, Set<string>>()
  for (const top of ['rec', 'last']) {
    for (const user of dirs(join(dir, top))) {
      for (const device of dirs(join(dir, top, user))) {
        if (!userDevices.has(user)) userDevices.set(user, new Set())
        userDevices.get(user)!.add(device)
        if (top === 'rec') for (const f of files(join(dir, 'rec', user, device), (n) => n.endsWith('.rec'))) add('rec', user, [device], 'rec', user, device, f)
        else for (const f of files(join(dir, 'last', user, device), (n) => n === `${user}-${device}.json`)) add('last', user, [device], 'last', user, device, f)
      }
    }
  }
  for (const user of dirs(join(dir, 'cards'))) {
    for (const f of files(join(dir, 'cards', user), (n) => n === `${user}.json`)) add('card', user, [...(userDevices.get(user) ?? [])].sort(), 'cards', user, f)
    for (const device of dirs(join(dir, 'cards', user))) {
      for (const f of files(join(dir, 'cards', user, device), (n) => n === `${user}-${device}.json`)) add('card', user, [device], 'cards', user, device, f)
    }
  }
  for (const user of dirs(join(dir, 'waypoints'))) {
    for (const device of dirs(join(dir, 'waypoints', user))) {
      for (const f of files(join(dir, 'waypoints', user, device), (n) => n.endsWith('.json') || n.endsWith('.otrw'))) {
        add(f.endsWith('.otrw') ? 'waypoints' : 'waypoint', user, [device], 'waypoints', user, device, f)
      }
    }
  }
  return out
}

/**
 * The records of the listed files, in order, each as MQTT ingestion would have stored it, or why
 * not. `progress` hears how many bytes of the files have been read so far.
 */
export async function* readRecorderStore(list: StoreFile[], base: string, progress: (bytes: number) => void = () => {}): AsyncGenerator<StoreItem> {
  let done = 0
  for (const f of list) {
    if (f.kind === 'rec') {
      yield* recFile(f, base, (n) => progress(done + n))
    } else {
      yield* jsonFile(f, base)
    }
    done += f.size
    progress(done)
  }
}

async function* recFile(f: StoreFile, base: string, progress: (bytes: number) => void): AsyncGenerator<StoreItem> {
  const input = createReadStream(f.path)
  let bytes = 0
  input.on('data', (b) => { bytes += b.length; progress(bytes) })
  let n = 0
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      n++
      if (line.trim() === '') continue
      const where = `${f.name} line ${n}`
      const parsed = parseRecLine(line)
      if ('skip' in parsed) { yield { ...parsed, where }; continue }
      const r = importRecord(f.user, f.devices[0], parsed.json, base, parsed.at)
      yield isSkipped(r) ? { ...r, where } : r
    }
  } catch (err) {
    throw new ImportError(`cannot read ${f.path}: ${(err as Error).message}`)
  }
}

/** `<ISO time>\t<relative topic>\t<payload>` → receive time and payload text, or why not. */
export function parseRecLine(line: string): { at: number; json: string } | Skipped {
  const t1 = line.indexOf('\t')
  const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1)
  if (t2 < 0) return { skip: 'not a .rec line (expected time, topic and payload separated by tabs)' }
  const ms = Date.parse(line.slice(0, t1))
  if (Number.isNaN(ms)) return { skip: 'not a .rec line (no ISO time at the start)' }
  const json = line.slice(t2 + 1)
  // The Recorder keeps payloads that are not JSON too; the decoder would say "not JSON" as well, but
  // checking the first character keeps that reason apart from JSON the decoder refuses.
  if (!/^\s*\{/.test(json)) return { skip: 'not JSON' }
  return { at: Math.floor(ms / 1000), json }
}

async function* jsonFile(f: StoreFile, base: string): AsyncGenerator<StoreItem> {
  let text: string
  let mtime: number
  try {
    text = readFileSync(f.path, 'utf8')
    mtime = Math.floor(statSync(f.path).mtimeMs / 1000)
  } catch (err) {
    throw new ImportError(`cannot read ${f.path}: ${(err as Error).message}`)
  }
  let obj: Record<string, unknown>
  try {
    obj = JSON.parse(text) as Record<string, unknown>
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error()
  } catch {
    yield { skip: 'not a JSON object', where: f.name }
    return
  }
  if (f.kind === 'last' || f.kind === 'waypoint') for (const k of ADDED) delete obj[k]
  // Cards written by hand or by contrib/faces scripts may leave out the _type.
  if (f.kind === 'card') obj = { _type: 'card', ...obj }
  if (f.kind === 'card' && f.devices.length === 0) {
    yield { skip: `card of '${f.user}', who has no devices in rec/ or last/`, where: f.name }
    return
  }
  for (const device of f.devices) {
    const r = importRecord(f.user, device, obj, base, mtime)
    yield isSkipped(r) ? { ...r, where: f.name } : r
  }
}
