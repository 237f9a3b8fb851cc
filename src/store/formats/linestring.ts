import { coordinates, type Format } from './types.js'

/** The track as one GeoJSON Feature with a LineString geometry, as the Recorder draws it. */
export const linestring: Format = {
  contentType: 'application/geo+json; charset=utf-8',
  open: () => '{"type":"Feature","geometry":{"type":"LineString","coordinates":[',
  point: (p, n) => {
    const c = coordinates(p)
    return c ? `${n ? ',' : ''}[${c.lon},${c.lat}]` : null
  },
  close: (_n, t) => `]},"properties":${JSON.stringify({ user: t.user, device: t.device })}}`,
}
