import { ghash } from '../geo/ghash.js'
import type { PlaceNames } from '../geo/place-names.js'
import { timeFields } from './enrich.js'
import { PointText, type Point } from './formats/index.js'

/*
 * A stored location served as published (the owner, an admin, a plain ACL line) is the stored JSON with
 * the place names before its fields and the Recorder's time fields and geohash after them. Its text is
 * spliced from those pieces instead of parsing, copying twice and serialising every point of a year, and
 * only where that gives the bytes JSON.stringify(enrichPoint(annotate(loc))) gives:
 *   - the stored JSON is JSON.stringify of the message (history-level.ts writes nothing else), so its body
 *     is what serialising the parsed location again would write, field for field;
 *   - a key that is an array index ("0", "17") is listed before every other key of a JS object, so the
 *     object would have it before the names: a body whose first key starts with a digit is not spliced;
 *   - a stored field named like a place name or a time field stays where the payload has it in the
 *     object: such a location is not spliced either.
 */

const ADDED = ['isotst', 'disptst', 'ghash']

/** A flat stored location's tst is outside the window asked for (or not a number): it is not served. */
export const OUTSIDE = Symbol('outside the window')

/** Writes the text pieces of stored locations for one answer (it keeps the last place names' text). */
export class PointTexts {
  /** The last place names, key by key, and their text. */
  private keys: string[] = []
  private values: unknown[] = []
  private head = ''
  /** The last point's cell (PlaceNames.cellOf), its names and their text: a phone's fixes follow one another in a cell. */
  private cell: number | undefined
  private cellNames: Record<string, unknown> = {}
  private cellHead = ''

  constructor(private readonly placeNames: PlaceNames | undefined, private readonly serve: (loc: Record<string, unknown>) => Point) {}

  /**
   * The pieces of a location stored as `json`, read from the text alone when the location is flat (no
   * nested object or array: most fixes), so it is not parsed at all; OUTSIDE when its tst is not a
   * number in [from, to]. Null when it is not flat or splicing could give other bytes: then parse it
   * (and try of()).
   */
  ofFlat(json: string, from: number, to: number): PointText | null | typeof OUTSIDE {
    const f = scanFlat(json)
    if (f === null) return null
    if (f.tst === undefined || f.tst < from || f.tst > to) return OUTSIDE
    const p = this.pieces(json, undefined, f.tst, f.lat, f.lon, f.location)
    if (p && f.lat !== undefined && f.lon !== undefined) {
      // in the body: one character less than in the JSON (its opening brace)
      p.latAt = f.latAt - 1; p.latEnd = f.latEnd - 1; p.lonAt = f.lonAt - 1; p.lonEnd = f.lonEnd - 1
    }
    return p
  }

  /** The pieces of `loc`, stored as `json`, or null when splicing could give other bytes (then serve the object). */
  of(json: string, loc: Record<string, unknown>): PointText | null {
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
    return this.pieces(json, loc, num(loc.tst), num(loc.lat), num(loc.lon), loc._type === 'location')
  }

  private pieces(json: string, loc: Record<string, unknown> | undefined, tst: number | undefined, lat: number | undefined, lon: number | undefined, location: boolean): PointText | null {
    const first = json.charCodeAt(2)
    if (first >= 0x30 && first <= 0x39) return null
    for (const k of ADDED) if (own(json, loc, k)) return null
    const placed = lat !== undefined && lon !== undefined
    let head = ''
    // PlaceNames.annotate's condition for adding names
    if (placed && this.placeNames && location) {
      const cell = this.placeNames.cellOf(lat, lon)
      if (cell === undefined || cell !== this.cell) {
        this.cell = cell
        this.cellNames = this.placeNames.of(lat, lon) as Record<string, unknown>
        this.cellHead = this.headOf(this.cellNames)
      }
      for (const k in this.cellNames) if (own(json, loc, k)) return null
      head = this.cellHead
    }
    let tail = ''
    if (tst !== undefined) {
      // ISO times hold no character JSON escapes
      const t = timeFields(tst)
      tail = `"isotst":"${t.isotst}","disptst":"${t.disptst}"`
    }
    if (placed) {
      const g = `"ghash":"${ghash(lat, lon)}"`
      tail = tail ? `${tail},${g}` : g
    }
    return new PointText(head, json.slice(1, -1), tail, json, lat, lon, this.serve, loc)
  }

  /** The names as JSON.stringify writes them inside an object; consecutive points mostly share them. */
  private headOf(names: Record<string, unknown>): string {
    let i = 0
    for (const k in names) {
      if (k !== this.keys[i] || names[k] !== this.values[i]) return this.newHead(names)
      i++
    }
    return i === this.keys.length ? this.head : this.newHead(names)
  }

  private newHead(names: Record<string, unknown>): string {
    const parts: string[] = []
    this.keys = []
    this.values = []
    for (const k in names) {
      this.keys.push(k)
      this.values.push(names[k])
      if (names[k] !== undefined) parts.push(`${JSON.stringify(k)}:${JSON.stringify(names[k])}`)
    }
    this.head = parts.join(',')
    return this.head
  }
}

/** Whether the location has the field: the parsed one says so, or the scan of its flat JSON. */
function own(json: string, loc: Record<string, unknown> | undefined, key: string): boolean {
  if (loc) return Object.hasOwn(loc, key)
  const bit = FLAGS[key]
  return bit !== undefined ? (scanned.has & bit) !== 0 : json.includes(`"${key}":`) // a name not listed: as if present when it may be
}

/** The keys a splice needs to know about, each a bit of Scan.has. */
const FLAGS: Record<string, number> = { isotst: 1, disptst: 2, ghash: 4, cc: 8, tzname: 16, locality: 32, addr: 64 }

interface Scan {
  tst: number | undefined
  lat: number | undefined
  lon: number | undefined
  /** Where the lat and lon keys' opening quotes are, and the comma or closing brace after their values. */
  latAt: number; latEnd: number; lonAt: number; lonEnd: number
  location: boolean
  has: number
}
/** The last scan (one at a time: the answer's loop is synchronous), reused so a year makes no object per point. */
const scanned: Scan = { tst: undefined, lat: undefined, lon: undefined, latAt: -1, latEnd: -1, lonAt: -1, lonEnd: -1, location: false, has: 0 }

/**
 * Reads a stored location's JSON (as JSON.stringify wrote it: no spaces, no duplicate keys) key by key
 * for what a splice needs: tst, lat, lon when they are numbers (Number() reads JSON's numbers as
 * JSON.parse does), whether `_type` is "location", which of FLAGS' keys it has. Null when a value is
 * an object or an array: then it is parsed.
 */
function scanFlat(json: string): Scan | null {
  const f = scanned
  f.tst = f.lat = f.lon = undefined
  f.latAt = f.latEnd = f.lonAt = f.lonEnd = -1
  f.location = false
  f.has = 0
  let at = 1
  const end = json.length - 1
  while (at < end) {
    // at: the quote that opens a key
    const ks = at + 1
    const ke = closingQuote(json, ks)
    if (ke < 0) return null
    const v = ke + 2 // past `":`
    const c = json.charCodeAt(v)
    if (c === 0x7b || c === 0x5b) return null
    const ve = c === 0x22 ? closingQuote(json, v + 1) + 1 : nextDelimiter(json, v, end)
    if (ve <= 0) return null
    const len = ke - ks
    if (len <= 8) {
      if (len === 3 && json.startsWith('tst', ks)) f.tst = numberIn(json, v, ve)
      else if (len === 3 && json.startsWith('lat', ks)) { f.lat = numberIn(json, v, ve); f.latAt = at; f.latEnd = ve }
      else if (len === 3 && json.startsWith('lon', ks)) { f.lon = numberIn(json, v, ve); f.lonAt = at; f.lonEnd = ve }
      else if (len === 5 && json.startsWith('_type', ks)) f.location = ve - v === 10 && json.startsWith('"location"', v)
      else f.has |= flagOf(json, ks, len)
    }
    at = ve + 1 // past the comma
  }
  return f
}

/** FLAGS' bit of the key of `len` characters at `ks`, or 0. */
function flagOf(json: string, ks: number, len: number): number {
  switch (len) {
    case 2: return json.startsWith('cc', ks) ? FLAGS.cc : 0
    case 4: return json.startsWith('addr', ks) ? FLAGS.addr : 0
    case 5: return json.startsWith('ghash', ks) ? FLAGS.ghash : 0
    case 6: return json.startsWith('isotst', ks) ? FLAGS.isotst : json.startsWith('tzname', ks) ? FLAGS.tzname : 0
    case 7: return json.startsWith('disptst', ks) ? FLAGS.disptst : 0
    case 8: return json.startsWith('locality', ks) ? FLAGS.locality : 0
    default: return 0
  }
}

/** The unescaped quote that ends a string whose text starts at `from` (-1: none, not JSON). */
function closingQuote(json: string, from: number): number {
  for (let q = json.indexOf('"', from); q >= 0; q = json.indexOf('"', q + 1)) {
    let slashes = 0
    while (json.charCodeAt(q - 1 - slashes) === 0x5c) slashes++
    if (slashes % 2 === 0) return q
  }
  return -1
}

/** Where a number, true, false or null that starts at `from` ends: the next comma, or the closing brace. */
function nextDelimiter(json: string, from: number, end: number): number {
  const comma = json.indexOf(',', from)
  return comma < 0 ? end : comma
}

/** Powers of ten a double holds exactly (up to 10^22). */
const TENS = Array.from({ length: 23 }, (_, k) => 10 ** k)

/**
 * A JSON number. One of up to 15 digits with no exponent (a tst, a coordinate as phones send it) is read
 * digit by digit and, with a fraction, divided by its power of ten once: both operands are exact doubles,
 * so the one rounding of the division gives the double nearest the decimal, which is what Number() gives
 * (the fast path of Clinger's algorithm). Number() of a slice was some 6% of serving a year of points.
 * Anything else goes to Number(); a value that is no number is undefined.
 */
function numberIn(json: string, from: number, to: number): number | undefined {
  let i = from
  const negative = json.charCodeAt(i) === 0x2d
  if (negative) i++
  let n = 0, digits = 0, fraction = -1
  for (; i < to; i++) {
    const c = json.charCodeAt(i)
    if (c >= 0x30 && c <= 0x39) { n = n * 10 + (c - 0x30); digits++ }
    else if (c === 0x2e && fraction < 0) fraction = i
    else break
  }
  const leading = json.charCodeAt(negative ? from + 1 : from)
  if (i === to && digits > 0 && digits <= 15 && leading >= 0x30 && leading <= 0x39 && fraction !== to - 1) {
    const v = fraction < 0 ? n : n / TENS[to - 1 - fraction]
    return negative ? -v : v
  }
  const c = json.charCodeAt(from)
  return c === 0x2d || (c >= 0x30 && c <= 0x39) ? Number(json.slice(from, to)) : undefined
}
