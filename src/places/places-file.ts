import { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap, type LineCounter } from 'yaml'
import { parseRulesDocument, RulesError, shareId, YamlReader } from '../access/rules-file.js'
import { parseDuration } from '../access/rules-values.js'
import type { Where } from '../access/types.js'
import type { AlertEvent, AlertRule, Place, PlacesRules, Shape, Span } from './types.js'

/*
 * acl/places.yml, the family's places and the alerts about them (the language is in acl/README.md):
 *
 *   timezone: Europe/Berlin        # the clock alerts' times are read on (default: the hub's)
 *   margin: 25m                    # leave only beyond the edge + this (default 25m)
 *   dwell: 1m                      # a new state counts once it lasted this long (default 0s)
 *   places:
 *     - name: school
 *       owner: lisa                # a person, or a group of acl/sharing.yml (everyone in it has the place)
 *       lat: 52.5163
 *       lon: 13.3777
 *       radius: 150m
 *     - name: home
 *       owner: family
 *       polygon: [[52.52, 13.40], [52.52, 13.41], [52.53, 13.41]]
 *   alerts:
 *     - about: lisa
 *       to: [mum, dad]             # people or groups
 *       places: [school]           # default: all of lisa's places
 *       on: [enter, leave]         # default: both
 *       not-arrived-by: "08:30"    # instead of on: told once a day when she is at none of them by then
 *       days: [mon, tue, wed, thu, fri]
 *       quiet: 22:00-07:00         # nothing is sent in these hours
 *       webhook: https://ntfy.sh/our-family   # or a list; JSON POST, ntfy's body
 *       push: true                 # Web Push to the map in the browsers of `to` (default true)
 *
 * Mistakes are reported with the file, the line and what to do, as for acl/sharing.yml.
 */

export interface PlacesParseOptions {
  /** Names a rule may use: the hub's users and the `people:` of acl/sharing.yml. */
  people: Iterable<string>
  /** The groups of acl/sharing.yml. */
  groups: Map<string, string[]>
  /** The zone used when the file names none. */
  defaultTimezone: string
}

const TOP = ['timezone', 'margin', 'dwell', 'places', 'alerts']
const PLACE_KEYS = ['name', 'owner', 'lat', 'lon', 'radius', 'polygon']
const ALERT_KEYS = ['about', 'to', 'places', 'on', 'not-arrived-by', 'days', 'quiet', 'webhook', 'push']
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.'-]{0,63}$/u

export function parsePlaces(text: string, file: string, o: PlacesParseOptions): PlacesRules {
  const { doc, lines } = parseRulesDocument(text, file)
  return new Reader(file, lines, o).read(doc)
}

/** Metres: `150m`, `1.5km` or a bare number of metres. */
function metres(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v !== 'string') return null
  const m = /^(\d+(?:\.\d+)?)\s*(m|km)?$/.exec(v.trim())
  return m ? Number(m[1]) * (m[2] === 'km' ? 1000 : 1) : null
}

/** `08:30` → minutes after midnight. */
export function clock(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return null // YAML 1.1 sexagesimal: `08:30` unquoted is a string in YAML 1.2
  const m = typeof v === 'string' ? /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(v.trim()) : null
  return m ? Number(m[1]) * 60 + Number(m[2]) : null
}

const value = (p: Pair | undefined): unknown => (p?.value as { value?: unknown } | null | undefined)?.value

class Reader extends YamlReader {
  constructor(file: string, lines: LineCounter, private readonly o: PlacesParseOptions) { super(file, lines) }


  read(doc: Document): PlacesRules {
    const root = doc.contents
    const out: PlacesRules = { file: this.file, timezone: this.o.defaultTimezone, margin: 25, dwell: 0, places: [], alerts: [] }
    if (root === null || (isScalar(root) && root.value === null)) return out
    if (!isMap(root)) this.fail(root, `expected a mapping with any of ${TOP.join(', ')}`)
    const top = this.keys(root, TOP, 'the places file')
    const tz = top.get('timezone')
    if (tz) {
      const z = String(value(tz) ?? '')
      try { new Intl.DateTimeFormat('en', { timeZone: z }) } catch { this.fail(tz, `timezone: '${z}' is not a time zone; say e.g. Europe/Berlin or UTC`) }
      out.timezone = z
    }
    const mg = top.get('margin')
    if (mg) {
      const m = metres(value(mg))
      if (m === null || m < 0 || m > 10_000) this.fail(mg, `margin: '${String(value(mg))}' is not a distance of 0 … 10km, e.g. 25m`)
      out.margin = m
    }
    const dw = top.get('dwell')
    if (dw) {
      const v = value(dw)
      const d = v === 0 || v === '0' ? 0 : typeof v === 'string' ? parseDuration(v) : null
      if (d === null) this.fail(dw, `dwell: '${String(v)}' is not a duration such as 0s, 30s, 2m`)
      out.dwell = d
    }
    const places = top.get('places')
    if (places && places.value != null && !(isScalar(places.value) && places.value.value === null)) {
      if (!isSeq(places.value)) this.fail(places, "'places' is a list; start each place with '- name: NAME'")
      const ids = new Set<string>()
      for (const item of places.value.items) {
        const p = this.place(item as Node)
        if (ids.has(p.id)) this.fail(item as Node, `${p.owner} has two places named '${p.name}'; rename one`)
        ids.add(p.id)
        out.places.push(p)
      }
    }
    const alerts = top.get('alerts')
    if (alerts && alerts.value != null && !(isScalar(alerts.value) && alerts.value.value === null)) {
      if (!isSeq(alerts.value)) this.fail(alerts, "'alerts' is a list; start each alert with '- about: NAME'")
      const ids = new Set<string>()
      for (const item of alerts.value.items) out.alerts.push({ ...this.alert(item as Node, out.places), id: shareId((item as Node).toJSON(), undefined, ids).replace(/^s/, 'a') })
    }
    return out
  }

  private keys(map: YAMLMap, allowed: string[], what: string): Map<string, Pair> {
    const out = new Map<string, Pair>()
    for (const p of map.items) {
      if (!isScalar(p.key)) this.fail(p, 'expected a plain name as key')
      const k = String(p.key.value)
      if (!allowed.includes(k)) this.fail(p, `unknown key '${k}' in ${what} (known: ${allowed.join(', ')})`)
      if (out.has(k)) this.fail(p, `'${k}' appears twice in ${what}; keep one`)
      out.set(k, p)
    }
    return out
  }

  private names(p: Pair | undefined, what: string): { name: string; node: Node }[] {
    if (!p || p.value == null) return []
    const v = p.value as Node
    const items = isSeq(v) ? (v.items as Node[]) : [v]
    return items.map((n) => {
      if (!isScalar(n) || (typeof n.value !== 'string' && typeof n.value !== 'number')) this.fail(n ?? p, `'${what}' takes a name or a list of names`)
      return { name: String(n.value), node: n }
    })
  }

  private known(): string[] { return [...new Set(this.o.people)].sort() }

  /** A person, or a group expanded to its members. */
  private audience(n: { name: string; node: Node }, groupsOk: boolean): string[] {
    const g = this.o.groups.get(n.name)
    if (g && groupsOk) return g
    if (this.known().includes(n.name)) return [n.name]
    if (g) this.fail(n.node, `'${n.name}' is a group; name a person here`)
    this.fail(n.node, `unknown person '${n.name}' (known: ${this.known().join(', ') || 'nobody yet'}${groupsOk && this.o.groups.size ? `; groups: ${[...this.o.groups.keys()].join(', ')}` : ''})`)
  }

  private number(p: Pair | undefined, parent: Node, what: string, min: number, max: number): number {
    if (!p) this.fail(parent, `'${what}' is missing`)
    const v = value(p)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(p, `${what}: '${String(v)}' is not a number from ${min} to ${max}`)
    return v
  }

  private place(item: Node): Place {
    if (!isMap(item)) this.fail(item, "a place is a mapping: '- name: school' then 'owner: lisa', 'lat:', 'lon:', 'radius:'")
    const m = this.keys(item, PLACE_KEYS, 'a place')
    const nameP = m.get('name')
    const name = String(value(nameP) ?? '').trim()
    if (!nameP || !NAME.test(name)) this.fail(nameP ?? item, `name: '${name}' must be 1 to 64 letters, digits, spaces, '-', '_', '.' or "'"`)
    const ownerList = this.names(m.get('owner'), 'owner')
    if (ownerList.length !== 1) this.fail(m.get('owner') ?? item, "'owner' names the one person or group whose place this is")
    const owner = ownerList[0].name
    const people = this.audience(ownerList[0], true)
    let shape: Shape
    const poly = m.get('polygon')
    if (poly) {
      if (m.has('lat') || m.has('lon') || m.has('radius')) this.fail(poly, "give either 'polygon' or 'lat', 'lon' and 'radius', not both")
      if (!isSeq(poly.value) || poly.value.items.length < 3) this.fail(poly, 'polygon: a list of at least three [lat, lon] corners')
      const points = (poly.value.items as Node[]).map((pt) => {
        const j = isSeq(pt) ? pt.toJSON() as unknown[] : null
        if (!j || j.length !== 2 || typeof j[0] !== 'number' || typeof j[1] !== 'number' || Math.abs(j[0]) > 90 || Math.abs(j[1]) > 180) this.fail(pt, 'polygon: each corner is [lat, lon], e.g. [52.52, 13.40]')
        return [j[0], j[1]] as [number, number]
      })
      shape = { kind: 'polygon', points }
    } else {
      const lat = this.number(m.get('lat'), item, 'lat', -90, 90)
      const lon = this.number(m.get('lon'), item, 'lon', -180, 180)
      const rp = m.get('radius')
      if (!rp) this.fail(item, "'radius' is missing, e.g. radius: 150m")
      const radius = metres(value(rp))
      if (radius === null || radius < 10 || radius > 100_000) this.fail(rp, `radius: '${String(value(rp))}' is not a distance of 10m … 100km, e.g. 150m`)
      shape = { kind: 'circle', lat, lon, radius }
    }
    return { id: `${owner}/${name}`, name, owner, people, shape, where: this.where(item) }
  }

  private alert(item: Node, places: Place[]): Omit<AlertRule, 'id'> {
    if (!isMap(item)) this.fail(item, "an alert is a mapping: '- about: lisa' then 'to: mum'")
    const m = this.keys(item, ALERT_KEYS, 'an alert')
    const aboutList = this.names(m.get('about'), 'about')
    if (aboutList.length !== 1) this.fail(m.get('about') ?? item, "'about' names the one person whose places the alert watches")
    const about = this.audience(aboutList[0], false)[0]
    const toList = this.names(m.get('to'), 'to')
    if (toList.length === 0 && !m.has('webhook')) this.fail(m.get('to') ?? item, "'to' is missing: name who is told (people or groups), or give a 'webhook'")
    const to = [...new Set(toList.flatMap((n) => this.audience(n, true)))]
    const theirs = places.filter((p) => p.people.includes(about))
    let chosen: string[] | null = null
    if (m.has('places')) {
      chosen = this.names(m.get('places'), 'places').map((n) => {
        if (!theirs.some((p) => p.name === n.name)) this.fail(n.node, `${about} has no place '${n.name}' (theirs: ${theirs.map((p) => p.name).join(', ') || 'none yet'})`)
        return n.name
      })
    }
    const nab = m.get('not-arrived-by')
    let notArrivedBy: number | null = null
    if (nab) {
      notArrivedBy = clock(value(nab))
      if (notArrivedBy === null) this.fail(nab, `not-arrived-by: '${String(value(nab))}' is not a time of day; write it in quotes, e.g. "08:30"`)
      if (m.has('on')) this.fail(m.get('on'), "an alert is either 'on: [enter, leave]' or 'not-arrived-by'; make two alerts")
      if (chosen === null) this.fail(nab, "not-arrived-by needs 'places': where should they be by then?")
    }
    let on: AlertEvent[] = notArrivedBy === null ? ['enter', 'leave'] : []
    if (m.has('on')) {
      on = this.names(m.get('on'), 'on').map((n) => {
        if (n.name !== 'enter' && n.name !== 'leave') this.fail(n.node, `on: '${n.name}' is not enter or leave`)
        return n.name
      })
    }
    let days = [0, 1, 2, 3, 4, 5, 6]
    if (m.has('days')) {
      days = this.names(m.get('days'), 'days').map((n) => {
        const i = DAYS.indexOf(n.name.toLowerCase().slice(0, 3))
        if (i < 0) this.fail(n.node, `days: '${n.name}' is not a day (${DAYS.join(', ')})`)
        return i
      })
    }
    let quiet: Span | null = null
    const q = m.get('quiet')
    if (q) {
      const parts = String(value(q) ?? '').split('-')
      const from = clock(parts[0])
      const to2 = clock(parts[1])
      if (parts.length !== 2 || from === null || to2 === null) this.fail(q, `quiet: '${String(value(q))}' is not a span of hours such as 22:00-07:00`)
      quiet = { from, to: to2 }
    }
    const webhooks = this.names(m.get('webhook'), 'webhook').map((n) => {
      let u: URL | null = null
      try { u = new URL(n.name) } catch { /* below */ }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) this.fail(n.node, `webhook: '${n.name}' is not an http(s) URL`)
      return n.name
    })
    const pp = m.get('push')
    const push = pp ? value(pp) : true
    if (typeof push !== 'boolean') this.fail(pp, 'push: true or false')
    return { about, to, places: chosen, on, notArrivedBy, days, quiet, webhooks, push, where: this.where(item) }
  }
}

export { RulesError }
