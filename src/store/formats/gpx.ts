import { coordinates, type Format } from './types.js'
import { decimal, xmlText } from './xml-text.js'

/**
 * GPX 1.1 (topografix.com/GPX/1/1/gpx.xsd): one track, one segment, a trkpt per point with its
 * elevation (`alt`) and time (`tst`), in the order the schema requires (ele before time).
 * `fields=` does not apply: a GPX point is its coordinates.
 */
export const gpx: Format = {
  contentType: 'application/gpx+xml; charset=utf-8',
  open: (t) => '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<gpx version="1.1" creator="owntracks-hub" xmlns="http://www.topografix.com/GPX/1/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
    + ` <trk>\n  <name>${xmlText(`${t.user}/${t.device}`)}</name>\n  <trkseg>\n`,
  point: (p) => {
    const c = coordinates(p)
    if (!c) return null
    const ele = typeof p.alt === 'number' ? `<ele>${decimal(p.alt)}</ele>` : ''
    const time = typeof p.isotst === 'string' ? `<time>${xmlText(p.isotst)}</time>` : ''
    return `   <trkpt lat="${decimal(c.lat)}" lon="${decimal(c.lon)}">${ele}${time}</trkpt>\n`
  },
  close: () => '  </trkseg>\n </trk>\n</gpx>\n',
}
