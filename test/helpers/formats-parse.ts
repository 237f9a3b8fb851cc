import assert from 'node:assert/strict'
import sax from 'sax'

/**
 * Readers for what the hub writes, so tests can parse every format back: a strict XML parser
 * (any well-formedness error fails), GPX 1.1 structure checks, and an RFC 4180 CSV reader.
 */

export interface GpxPoint { lat: number; lon: number; ele?: number; time?: string }

const GPX_NS = 'http://www.topografix.com/GPX/1/1'
const DECIMAL = /^-?\d+(\.\d+)?$/
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
/** The order GPX 1.1 (gpx.xsd) requires of the children we may write. */
const ORDER: Record<string, string[]> = {
  gpx: ['metadata', 'wpt', 'rte', 'trk', 'extensions'],
  trk: ['name', 'cmt', 'desc', 'src', 'link', 'number', 'type', 'extensions', 'trkseg'],
  trkseg: ['trkpt', 'extensions'],
  trkpt: ['ele', 'time', 'magvar', 'geoidheight', 'name', 'cmt', 'desc', 'src', 'link', 'sym', 'type', 'fix', 'sat', 'hdop', 'vdop', 'pdop', 'ageofdgpsdata', 'dgpsid', 'extensions'],
}

/**
 * A streaming GPX 1.1 checker: strict XML, the GPX namespace on every element, version 1.1 and a
 * creator, children in the schema's order, lat/lon in range as xsd:decimal, ele a decimal, time an
 * xsd:dateTime. Feed it chunks, then `end()` returns the track points (or only their count).
 */
export function gpxChecker(keepPoints = true): { write(chunk: string): void; end(): { points: GpxPoint[]; count: number } } {
  const p = sax.parser(true, { xmlns: true })
  const stack: { name: string; last: number }[] = []
  const points: GpxPoint[] = []
  let count = 0
  let text = ''
  let cur: GpxPoint | undefined
  let error: Error | undefined
  p.onerror = (e) => { error ??= e; throw e }
  p.onopentag = (tag) => {
    assert.equal(tag.uri, GPX_NS, `<${tag.name}> is not in the GPX 1.1 namespace`)
    const name = tag.local!
    const parent = stack[stack.length - 1]
    if (!parent) {
      assert.equal(name, 'gpx', 'the root element is <gpx>')
      assert.equal((tag.attributes.version as { value: string }).value, '1.1')
      assert.ok((tag.attributes.creator as { value: string } | undefined)?.value, '<gpx> has a creator')
    } else if (ORDER[parent.name]) {
      const at = ORDER[parent.name].indexOf(name)
      assert.ok(at >= 0, `<${name}> may not appear in <${parent.name}>`)
      assert.ok(at >= parent.last, `<${name}> comes too late in <${parent.name}> (GPX 1.1 order: ${ORDER[parent.name].join(', ')})`)
      parent.last = at
    }
    if (name === 'trkpt') {
      const lat = (tag.attributes.lat as { value: string }).value
      const lon = (tag.attributes.lon as { value: string }).value
      assert.match(lat, DECIMAL, `lat ${lat} is an xsd:decimal`)
      assert.match(lon, DECIMAL, `lon ${lon} is an xsd:decimal`)
      cur = { lat: Number(lat), lon: Number(lon) }
      assert.ok(cur.lat >= -90 && cur.lat <= 90 && cur.lon >= -180 && cur.lon < 180, 'lat/lon in range')
    }
    stack.push({ name, last: 0 })
    text = ''
  }
  p.ontext = (t) => { text += t }
  p.onclosetag = () => {
    const { name } = stack.pop()!
    if (name === 'ele') { assert.match(text.trim(), DECIMAL); cur!.ele = Number(text) }
    if (name === 'time') { assert.match(text.trim(), DATETIME); cur!.time = text.trim() }
    if (name === 'trkpt') { count++; if (keepPoints) points.push(cur!) }
    text = ''
  }
  return {
    write(chunk) { p.write(chunk) },
    end() { p.close(); if (error) throw error; assert.equal(stack.length, 0, 'all elements closed'); return { points, count } },
  }
}

export const parseGpx = (xml: string): GpxPoint[] => { const c = gpxChecker(); c.write(xml); return c.end().points }

/**
 * The Recorder's XML (`<owntracks><point><tst>…</tst>…</point></owntracks>`) back to objects of
 * strings, parsed strictly; `keepPoints: false` only counts them.
 */
export function xmlPoints(keepPoints = true): { write(chunk: string): void; end(): { points: Record<string, string>[]; count: number } } {
  const p = sax.parser(true)
  const points: Record<string, string>[] = []
  let count = 0
  let depth = 0
  let cur: Record<string, string> = {}
  let field = ''
  let text = ''
  p.onerror = (e) => { throw e }
  p.onopentag = (tag) => {
    depth++
    if (depth === 1) assert.equal(tag.name, 'owntracks')
    if (depth === 2) { assert.equal(tag.name, 'point'); cur = {} }
    if (depth === 3) field = tag.name === 'field' ? String(tag.attributes.name) : tag.name
    text = ''
  }
  p.ontext = (t) => { text += t }
  p.onclosetag = () => {
    if (depth === 3) cur[field] = text
    if (depth === 2) { count++; if (keepPoints) points.push(cur) }
    depth--
  }
  return { write(chunk) { p.write(chunk) }, end() { p.close(); return { points, count } } }
}

export const parseXml = (xml: string): Record<string, string>[] => { const c = xmlPoints(); c.write(xml); return c.end().points }

/** RFC 4180 CSV → rows of fields (quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++ } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') { row.push(field); field = '' } else if (ch === '\n') { row.push(field); rows.push(row); row = []; field = '' } else if (ch !== '\r') field += ch
  }
  assert.equal(quoted, false, 'no quoted field left open')
  if (field !== '' || row.length) { row.push(field); rows.push(row) }
  return rows
}
