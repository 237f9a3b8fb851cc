import { csv } from './csv.js'
import { geojson, geojsonpoi } from './geojson.js'
import { gpx } from './gpx.js'
import { json } from './json.js'
import { linestring } from './linestring.js'
import type { Format, Point, Track } from './types.js'
import { xml } from './xml.js'

export type { Format, Point, Track } from './types.js'

/** Every `format=` the locations endpoint speaks, by the Recorder's names. */
export const FORMATS: Record<string, Format> = { json, geojson, geojsonpoi, linestring, csv, gpx, xml }

/** The format of that name, if there is one (own keys only: 'constructor' or '__proto__' are none). */
export function formatByName(name: string): Format | undefined {
  return Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined
}

/** Bytes gathered before a chunk is handed on: big enough to be cheap, small enough to start at once. */
const CHUNK = 64 * 1024

/**
 * Writes `points` in `format` as a byte stream. The opening goes out before the first point is
 * read, and points are pulled only as fast as the reader takes chunks, so a year of points never
 * sits in memory and the first bytes leave at once. Cancelling (the client went away) closes the
 * store's iterator.
 */
export function formatStream(points: AsyncIterable<Point>, format: Format, track: Track): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  const it = points[Symbol.asyncIterator]()
  let n = 0
  return new ReadableStream<Uint8Array>({
    start(ctrl) { ctrl.enqueue(enc.encode(format.open(track))) },
    async pull(ctrl) {
      let chunk = ''
      while (chunk.length < CHUNK) {
        const r = await it.next()
        if (r.done) {
          ctrl.enqueue(enc.encode(chunk + format.close(n, track)))
          ctrl.close()
          return
        }
        const s = format.point(r.value, n, track)
        if (s !== null) { chunk += s; n++ }
      }
      ctrl.enqueue(enc.encode(chunk))
    },
    async cancel() { await it.return?.() },
  })
}
