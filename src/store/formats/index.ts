import { csv } from './csv.js'
import { geojson, geojsonpoi } from './geojson.js'
import { gpx } from './gpx.js'
import { json } from './json.js'
import { linestring } from './linestring.js'
import { PointText, type Format, type Point, type Track } from './types.js'
import { xml } from './xml.js'

export { PointText, type Format, type Point, type Track } from './types.js'

/** Every `format=` the locations endpoint speaks, by the Recorder's names. */
export const FORMATS: Record<string, Format> = { json, geojson, geojsonpoi, linestring, csv, gpx, xml }

/** The format of that name, if there is one (own keys only: 'constructor' or '__proto__' are none). */
export function formatByName(name: string): Format | undefined {
  return Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined
}

/** Bytes gathered before a chunk is handed on: big enough to be cheap, small enough to start at once. */
const CHUNK = 64 * 1024
/** A chunk's buffer: room for the last point that crosses CHUNK (a point longer than this is a chunk of its own). */
const ROOM = 2 * CHUNK

/** What a format writes one point from: the point, or (viewers who see it as stored) its text pieces. */
export type Served = Point | PointText

/**
 * Writes `points` in `format` as a byte stream. The opening goes out before the first point is
 * read, and points are pulled only as fast as the reader takes chunks, so a year of points never
 * sits in memory and the first bytes leave at once. Cancelling (the client went away) closes the
 * store's iterator.
 */
export function formatStream(points: AsyncIterable<Point>, format: Format, track: Track): ReadableStream<Uint8Array> {
  return formatBatches(oneByOne(points), format, track)
}

async function* oneByOne(points: AsyncIterable<Point>): AsyncIterable<Served[]> {
  for await (const p of points) yield [p]
}

/**
 * formatStream for points that come in batches (one promise per batch, not per point). Each point's
 * text is written as UTF-8 straight into the chunk's buffer: no chunk string is built and encoded again.
 */
export function formatBatches(batches: AsyncIterable<Served[]>, format: Format, track: Track): ReadableStream<Uint8Array> {
  const it = batches[Symbol.asyncIterator]()
  let n = 0
  let buf = Buffer.allocUnsafe(ROOM)
  let at = 0
  /** Hands the bytes written so far on, in a buffer of their own from then on. */
  const flush = (ctrl: ReadableStreamDefaultController<Uint8Array>) => {
    if (at === 0) return
    ctrl.enqueue(buf.subarray(0, at))
    buf = Buffer.allocUnsafe(ROOM)
    at = 0
  }
  const write = (ctrl: ReadableStreamDefaultController<Uint8Array>, s: string) => {
    // a UTF-16 unit is at most 3 bytes of UTF-8
    if (at + 3 * s.length > ROOM) {
      flush(ctrl)
      if (3 * s.length > ROOM) { ctrl.enqueue(Buffer.from(s, 'utf8')); return }
    }
    at += buf.write(s, at, 'utf8')
  }
  return new ReadableStream<Uint8Array>({
    start(ctrl) { write(ctrl, format.open(track)); flush(ctrl) },
    async pull(ctrl) {
      while (at < CHUNK) {
        const r = await it.next()
        if (r.done) {
          write(ctrl, format.close(n, track))
          flush(ctrl)
          ctrl.close()
          return
        }
        for (const p of r.value) {
          const s = p instanceof PointText ? text(format, p, n, track) : format.point(p, n, track)
          if (s !== null) { write(ctrl, s); n++ }
        }
      }
      flush(ctrl)
    },
    async cancel() { await it.return?.() },
  })
}

function text(format: Format, p: PointText, n: number, track: Track): string | null {
  const s = format.spliced?.(p, n, track)
  return s !== undefined ? s : format.point(p.point(), n, track)
}
