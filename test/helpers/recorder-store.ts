import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** What a generated store holds, to compare an import against. */
export interface GeneratedStore {
  dir: string
  /** user/device → tst of every location in rec/ (last/ repeats the newest). */
  locations: Map<string, number[]>
  transitions: number
  cards: number
  /** Lines the hub must skip: not JSON, invalid, and kinds it does not keep. */
  skipped: number
}

const iso = (tst: number) => new Date(tst * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
/** The Recorder's RECFORMAT "%s\t%-18s\t%s\n": the relative topic is padded to 18 characters. */
const recLine = (at: number, rel: string, payload: string) => `${iso(at)}\t${rel.padEnd(18)}\t${payload}\n`

/**
 * Writes an OwnTracks Recorder store as recorder.c lays it out: two users, three devices, months of
 * locations in rec/, transitions, lwt and cmd lines, a non-JSON line, an invalid location, last/
 * (with the fields the Recorder adds), an old-style per-user card and a per-device card, a shared
 * waypoint and a waypoints list.
 */
export function writeRecorderStore(dir: string, perDevice = 50): GeneratedStore {
  const g: GeneratedStore = { dir, locations: new Map(), transitions: 0, cards: 0, skipped: 0 }
  const start = Date.UTC(2024, 4, 30) / 1000 // spans May and June 2024
  const devices: [string, string][] = [['jane', 'phone'], ['jane', 'tablet'], ['fred', 'phone']]
  for (const [user, device] of devices) {
    const recDir = join(dir, 'rec', user, device)
    mkdirSync(recDir, { recursive: true })
    const files = new Map<string, string>()
    const add = (at: number, rel: string, payload: string) => {
      const f = `${iso(at).slice(0, 7)}.rec`
      files.set(f, (files.get(f) ?? '') + recLine(at, rel, payload))
    }
    const tsts: number[] = []
    for (let i = 0; i < perDevice; i++) {
      const tst = start + i * 3600
      tsts.push(tst)
      add(tst, '*', JSON.stringify({ _type: 'location', tid: device.slice(-2), lat: 48 + i / 1000, lon: 2 + i / 1000, tst, acc: 10, batt: 90 - (i % 50), conn: 'w' }))
      if (i % 10 === 0) { add(tst + 5, 'event', JSON.stringify({ _type: 'transition', event: 'enter', desc: 'Home', tst: tst + 5, wtst: 1700000000, lat: 48, lon: 2, acc: 10, t: 'c' })); g.transitions++ }
    }
    add(start + 10, 'lwt', JSON.stringify({ _type: 'lwt', tst: start + 9 }))
    add(start + 20, 'cmd', JSON.stringify({ _type: 'cmd', action: 'reportLocation' })); g.skipped++
    add(start + 30, '*', 'hello world'); g.skipped++
    add(start + 40, '*', JSON.stringify({ _type: 'location', lat: 200, lon: 2, tst: start + 40 })); g.skipped++
    for (const [f, text] of files) writeFileSync(join(recDir, f), text)
    g.locations.set(`${user}/${device}`, tsts)

    const newest = perDevice - 1
    const lastDir = join(dir, 'last', user, device)
    mkdirSync(lastDir, { recursive: true })
    const last = { _type: 'location', tid: device.slice(-2), lat: 48 + newest / 1000, lon: 2 + newest / 1000, tst: start + newest * 3600, acc: 10, batt: 90 - (newest % 50), conn: 'w', topic: `owntracks/${user}/${device}`, username: user, device, ghash: 'u09tvw0' }
    writeFileSync(join(lastDir, `${user}-${device}.json`), JSON.stringify(last) + '\n')
  }
  const mtime = new Date(Date.UTC(2024, 5, 1) * 1)
  // an older Recorder's per-user card: it belongs to each of jane's devices
  mkdirSync(join(dir, 'cards', 'jane'), { recursive: true })
  writeFileSync(join(dir, 'cards', 'jane', 'jane.json'), JSON.stringify({ _type: 'card', name: 'Jane Jolie', face: 'iVBORw0KGgo=' }))
  utimesSync(join(dir, 'cards', 'jane', 'jane.json'), mtime, mtime)
  g.cards += 2
  // a newer Recorder's per-device card, without _type as some scripts write it
  mkdirSync(join(dir, 'cards', 'fred', 'phone'), { recursive: true })
  writeFileSync(join(dir, 'cards', 'fred', 'phone', 'fred-phone.json'), JSON.stringify({ name: 'Fred' }))
  utimesSync(join(dir, 'cards', 'fred', 'phone', 'fred-phone.json'), mtime, mtime)
  g.cards += 1
  const wpDir = join(dir, 'waypoints', 'jane', 'phone')
  mkdirSync(wpDir, { recursive: true })
  writeFileSync(join(wpDir, '2024-05-30T10:00:00Z.json'), JSON.stringify({ _type: 'waypoint', desc: 'Home', lat: 48, lon: 2, rad: 50, tst: 1717063200, topic: 'owntracks/jane/phone/waypoint', username: 'jane', device: 'phone', ghash: 'u09tvw0' }))
  writeFileSync(join(wpDir, 'jane-phone.otrw'), JSON.stringify({ _type: 'waypoints', waypoints: [{ _type: 'waypoint', desc: 'Home', lat: 48, lon: 2, rad: 50, tst: 1717063200 }] }, null, '\t'))
  utimesSync(join(wpDir, 'jane-phone.otrw'), mtime, mtime)
  // not history: the reverse-geo cache, photos, phone configurations (with passwords), monitor
  mkdirSync(join(dir, 'ghash'), { recursive: true })
  writeFileSync(join(dir, 'ghash', 'data.mdb'), 'binary')
  mkdirSync(join(dir, 'config', 'jane', 'phone'), { recursive: true })
  writeFileSync(join(dir, 'config', 'jane', 'phone', 'jane-phone.otrc'), JSON.stringify({ _type: 'configuration', password: 'secret' }))
  writeFileSync(join(dir, 'monitor'), '1717063200 owntracks/jane/phone\n')
  return g
}
