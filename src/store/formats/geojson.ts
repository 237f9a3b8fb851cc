import { pick } from '../enrich.js'
import { coordinates, type Format, type Point, type Track } from './types.js'

/** A GeoJSON Feature for one point; its properties are the point's fields (or those `fields=` names). */
function feature(p: Point, n: number, t: Track): string | null {
  const c = coordinates(p)
  if (!c) return null
  const { lat: _lat, lon: _lon, ...rest } = pick(p, t.fields)
  return `${n ? ',' : ''}{"type":"Feature","geometry":{"type":"Point","coordinates":[${c.lon},${c.lat}]},"properties":${JSON.stringify(rest)}}`
}

const collection = (keep: (p: Point) => boolean): Format => ({
  contentType: 'application/geo+json; charset=utf-8',
  open: () => '{"type":"FeatureCollection","features":[',
  point: (p, n, t) => (keep(p) ? feature(p, n, t) : null),
  close: () => ']}',
})

/** A FeatureCollection of Points (GeoJSON puts longitude first). */
export const geojson: Format = collection(() => true)

/** The Recorder's `geojsonpoi`: only the points the user marked as a point of interest (`poi`). */
export const geojsonpoi: Format = collection((p) => p.poi !== undefined)
