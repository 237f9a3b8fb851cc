import { createReadStream } from 'node:fs'

/** One point of a GPX file: track points, route points and waypoints alike. */
export interface GpxPoint {
  lat: number
  lon: number
  /** Epoch seconds from <time>, when the point has one. */
  tst?: number
  /** Metres, from <ele>. */
  alt?: number
  /** Where it is in the file, for messages ("trkpt 12"). */
  where: string
}

/** A point element start: <trkpt, <rtept or <wpt, with or without a namespace prefix. */
const START = /<(?:[A-Za-z_][\w.-]*:)?(trkpt|rtept|wpt)(?=[\s/>])/g
const COMMENT = '<!--'

/**
 * Streams the points of a GPX file (1.0 or 1.1) without holding the file: it scans for point
 * elements instead of building a document, reading `lat`/`lon` attributes and the `ele` and
 * `time` children, and skips comments. Points missing usable coordinates come out with NaN, so the
 * caller can say how many it skipped and why. `progress` hears how many bytes were read so far.
 */
export async function* readGpx(path: string, progress: (bytes: number) => void = () => {}): AsyncGenerator<GpxPoint> {
  let buf = ''
  let count = 0
  let bytes = 0
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    buf += chunk as string
    progress(bytes += Buffer.byteLength(chunk as string))
    let pos = 0
    for (;;) {
      START.lastIndex = pos
      const m = START.exec(buf)
      const comment = buf.indexOf(COMMENT, pos)
      if (comment >= 0 && (!m || comment < m.index)) {
        const end = buf.indexOf('-->', comment + 4)
        if (end < 0) { pos = comment; break }
        pos = end + 3
        continue
      }
      if (!m) { pos = Math.max(pos, buf.length - 64); break } // a start tag may be cut at the chunk's end
      const tagEnd = buf.indexOf('>', m.index)
      if (tagEnd < 0) { pos = m.index; break }
      const selfClosing = buf[tagEnd - 1] === '/'
      let end = tagEnd + 1
      if (!selfClosing) {
        const close = new RegExp(`</(?:[A-Za-z_][\\w.-]*:)?${m[1]}\\s*>`, 'g')
        close.lastIndex = tagEnd
        const c = close.exec(buf)
        if (!c) { pos = m.index; break }
        end = c.index + c[0].length
      }
      yield point(buf.slice(m.index, tagEnd + 1), selfClosing ? '' : buf.slice(tagEnd + 1, end), `${m[1]} ${++count}`)
      pos = end
    }
    buf = buf.slice(pos)
  }
}

function point(tag: string, body: string, where: string): GpxPoint {
  const p: GpxPoint = { lat: attr(tag, 'lat'), lon: attr(tag, 'lon'), where }
  const time = child(body, 'time')
  if (time !== undefined) {
    const ms = Date.parse(time)
    if (!Number.isNaN(ms)) p.tst = Math.floor(ms / 1000)
  }
  const ele = child(body, 'ele')
  if (ele !== undefined && Number.isFinite(Number(ele)) && ele !== '') p.alt = Number(ele)
  return p
}

function attr(tag: string, name: string): number {
  const m = new RegExp(`\\s${name}\\s*=\\s*(["'])\\s*([^"']*?)\\s*\\1`).exec(tag)
  return m && m[2] !== '' ? Number(m[2]) : NaN
}

/** The text of the first direct <name> child (points have no nested elements of these names). */
function child(body: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}\\s*>\\s*([^<]*?)\\s*</`).exec(body)
  return m ? m[1] : undefined
}
