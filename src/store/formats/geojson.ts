import { pick } from '../enrich.js'
import { coordinates, type Format, type Point, type PointText, type Track } from './types.js'

/** A GeoJSON Feature for one point; its properties are the point's fields (or those `fields=` names). */
function feature(p: Point, n: number, t: Track): string | null {
  const c = coordinates(p)
  if (!c) return null
  const { lat: _lat, lon: _lon, ...rest } = pick(p, t.fields)
  return `${n ? ',' : ''}{"type":"Feature","geometry":{"type":"Point","coordinates":[${c.lon},${c.lat}]},"properties":${JSON.stringify(rest)}}`
}

/**
 * The same Feature from the point's text: its properties are the stored JSON with `lat` and `lon` cut
 * out (without them: point()). The place names and time fields never hold lat, lon or poi, so the
 * stored location decides those.
 */
function splicedFeature(p: PointText, n: number, t: Track): string | null | undefined {
  if (t.fields) return undefined
  if (p.lat === undefined || p.lon === undefined) return null
  let body: string | undefined
  let coordinates: string
  if (p.latAt >= 0) {
    body = p.latAt < p.lonAt ? cut(p.body, p.latAt, p.latEnd, p.lonAt, p.lonEnd) : cut(p.body, p.lonAt, p.lonEnd, p.latAt, p.latEnd)
    // The values as stored: JSON.stringify wrote them as String() writes the numbers they are
    coordinates = `${p.body.slice(p.lonAt + KEY_AND_COLON, p.lonEnd)},${p.body.slice(p.latAt + KEY_AND_COLON, p.latEnd)}`
  } else {
    const lat = cutNumber(p.body, 'lat', p.lat)
    body = lat === undefined ? undefined : cutNumber(lat, 'lon', p.lon)
    coordinates = `${p.lon},${p.lat}`
  }
  if (body === undefined) return undefined
  return `${n ? ',' : ''}{"type":"Feature","geometry":{"type":"Point","coordinates":[${coordinates}]},"properties":${p.json(body)}}`
}

/** `"lat":` and `"lon":`: where a value starts after its key's opening quote. */
const KEY_AND_COLON = 6

/**
 * `body` without two of its fields, each from its key's quote (`a`) to the comma or end after its value
 * (`e`), a1 < a2: what is left between them, joined by commas.
 */
function cut(body: string, a1: number, e1: number, a2: number, e2: number): string {
  const before = a1 > 0 ? body.slice(0, a1 - 1) : ''
  const between = body.slice(e1 + 1, a2 - 1)
  const after = e2 < body.length ? body.slice(e2 + 1) : ''
  let s = before
  if (between) s = s ? `${s},${between}` : between
  if (after) s = s ? `${s},${after}` : after
  return s
}

/**
 * `body` (an object's JSON without braces) with its top-level `"key":value` and one comma cut out, or
 * undefined when that place cannot be told for sure. The key is at top level with a number (the parsed
 * location says so), so its `"key":` is in the text; inside a string a quote is always escaped, so the
 * text can hold it elsewhere only as a key of a nested object: then it occurs twice, and is not cut.
 * JSON writes a number as String() does.
 */
function cutNumber(body: string, key: string, value: number): string | undefined {
  const name = `"${key}":`
  const at = body.indexOf(name)
  if (at < 0 || body.indexOf(name, at + 1) >= 0) return undefined
  const v = String(value)
  const end = at + name.length + v.length
  if (!body.startsWith(v, at + name.length) || (end < body.length && body.charCodeAt(end) !== 0x2c)) return undefined
  if (at === 0) return body.slice(end + 1)
  if (body.charCodeAt(at - 1) !== 0x2c) return undefined
  return body.slice(0, at - 1) + body.slice(end)
}

/** Features of the points `keep` takes (all without it). */
const collection = (keep?: (p: Point) => boolean): Format => ({
  contentType: 'application/geo+json; charset=utf-8',
  open: () => '{"type":"FeatureCollection","features":[',
  point: (p, n, t) => (!keep || keep(p) ? feature(p, n, t) : null),
  // p.loc parses the stored text: only for a format that looks at a field
  spliced: (p, n, t) => (!keep || keep(p.loc) ? splicedFeature(p, n, t) : null),
  close: () => ']}',
})

/** A FeatureCollection of Points (GeoJSON puts longitude first). */
export const geojson: Format = collection()

/** The Recorder's `geojsonpoi`: only the points the user marked as a point of interest (`poi`). */
export const geojsonpoi: Format = collection((p) => p.poi !== undefined)
