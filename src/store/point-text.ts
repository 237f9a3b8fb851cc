import ngeohash from 'ngeohash'
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

/** Writes the text pieces of stored locations for one answer (it keeps the last place names' text). */
export class PointTexts {
  private names: Record<string, unknown> | undefined
  private head = ''

  constructor(private readonly placeNames: PlaceNames | undefined, private readonly serve: (loc: Record<string, unknown>) => Point) {}

  /** The pieces of `loc`, stored as `json`, or null when splicing could give other bytes (then serve the object). */
  of(json: string, loc: Record<string, unknown>): PointText | null {
    const first = json.charCodeAt(2)
    if (first >= 0x30 && first <= 0x39) return null
    for (const k of ADDED) if (Object.hasOwn(loc, k)) return null
    const placed = typeof loc.lat === 'number' && typeof loc.lon === 'number'
    let head = ''
    // PlaceNames.annotate's condition for adding names
    if (placed && this.placeNames && loc._type === 'location') {
      const names = this.placeNames.of(loc.lat as number, loc.lon as number) as Record<string, unknown>
      for (const k in names) if (Object.hasOwn(loc, k)) return null
      head = this.headOf(names)
    }
    let tail = ''
    if (typeof loc.tst === 'number') {
      // ISO times hold no character JSON escapes
      const t = timeFields(loc.tst)
      tail = `"isotst":"${t.isotst}","disptst":"${t.disptst}"`
    }
    if (placed) {
      const g = `"ghash":"${ngeohash.encode(loc.lat as number, loc.lon as number, 7)}"`
      tail = tail ? `${tail},${g}` : g
    }
    return new PointText(head, json.slice(1, -1), tail, loc, this.serve)
  }

  /** The names as JSON.stringify writes them inside an object; consecutive points mostly share them. */
  private headOf(names: Record<string, unknown>): string {
    if (this.names && same(this.names, names)) return this.head
    const parts: string[] = []
    for (const k in names) if (names[k] !== undefined) parts.push(`${JSON.stringify(k)}:${JSON.stringify(names[k])}`)
    this.names = names
    this.head = parts.join(',')
    return this.head
  }
}

/** The same keys in the same order with the same values. */
function same(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a), kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a[ka[i]] !== b[kb[i]]) return false
  return true
}
