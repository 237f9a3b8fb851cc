import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PlaceNames } from '../../src/geo/place-names.js'
import { townsReady } from '../../src/geo/towns.js'
import type { PlaceDetail, PlaceFields } from '../../src/geo/types.js'
import { enrichPoint, timeFields } from '../../src/store/enrich.js'
import { FORMATS, formatBatches, PointText, type Served, type Track } from '../../src/store/formats/index.js'
import { OUTSIDE, PointTexts } from '../../src/store/point-text.js'

/** Names that change from cell to cell (and now and then lack a town), without loading the offline data. */
class StubNames extends PlaceNames {
  override of(lat: number, lon: number, _detail?: PlaceDetail): PlaceFields {
    const out: PlaceFields = { cc: lat > 0 ? 'DE' : 'AU', tzname: lon > 0 ? 'Europe/Berlin' : 'Etc/GMT+12' }
    if (Math.round(lat * 10) % 3 !== 0) out.locality = `Town "${Math.round(lat * 10)}"`
    return out
  }

  // of() answers alike within a tenth of a degree of latitude and a sign of longitude: a cell
  override cellOf(lat: number, lon: number): number | undefined {
    return Number.isFinite(lat) && Number.isFinite(lon) ? Math.round(lat * 10) * 2 + (lon > 0 ? 1 : 0) : undefined
  }
}

const track: Track = { user: 'jane', device: 'phone' }

/** Stored locations as the hub stores them (JSON.stringify of the message), awkward ones included. */
const stored: Record<string, unknown>[] = [
  { _type: 'location', tid: 'jp', lat: 48.8583, lon: 2.2945, tst: 1732456789, alt: 35, batt: 81, inregions: ['Home', 'Work'] },
  { _type: 'location', tid: 'j"p', lat: 1e-7, lon: -179.5, tst: 1732456849, 'odd key': 1, note: 'say "lat":1, and {"lon":2}' },
  { _type: 'location', lat: -33.86, lon: 151.21, tst: 1732456909, poi: 'Opera', acc: 5 },
  // lat and lon first or last, a nested object with its own lat and lon, no place at all
  { lat: 52.5, _type: 'location', tst: 1732456969, lon: 13.4 },
  { _type: 'location', tst: 1732457029, where: { lat: 52.5, lon: 13.4 }, lat: 52.5, lon: 13.4 },
  { _type: 'location', tst: 1732457089, tid: 'np' },
  { _type: 'location', tst: 1732457149.5, lat: 1e21, lon: -0.000001 },
  // fields the hub adds itself, an array index as a key, a payload's own __proto__: served as objects
  { _type: 'location', tst: 1732457209, lat: 10, lon: 10, locality: 'what the phone says' },
  { _type: 'location', tst: 1732457269, lat: 10, lon: 10, isotst: 'sent by the phone' },
  { _type: 'location', tst: 1732457329, lat: 10, lon: 10, 7: 'seven' },
  JSON.parse('{"_type":"location","tst":1732457389,"lat":11,"lon":12,"__proto__":{"x":1}}') as Record<string, unknown>,
]

async function body(format: string, served: Served[], t: Track = track): Promise<string> {
  async function* batches() { yield served.slice(0, 4); yield served.slice(4) }
  return new Response(formatBatches(batches(), FORMATS[format], t)).text()
}

describe('a location served as published, spliced from its stored text', () => {
  const names = new StubNames()
  const objects = stored.map((loc) => enrichPoint(names.annotate(loc)))
  const texts = new PointTexts(names, (loc) => enrichPoint(names.annotate(loc)))
  /** As servedBatches reads a stored location: from its text when flat, else parsed. */
  const read = (loc: Record<string, unknown>): Served => {
    const json = JSON.stringify(loc)
    const flat = texts.ofFlat(json, -Infinity, Infinity)
    assert.notEqual(flat, OUTSIDE)
    if (flat) return flat as PointText
    const parsed = JSON.parse(json) as Record<string, unknown>
    return texts.of(json, parsed) ?? enrichPoint(names.annotate(parsed))
  }
  const spliced = stored.map(read)
  test('splices the plain ones and leaves the others to the object path', () => {
    assert.deepEqual(spliced.map((p) => p instanceof PointText), [true, true, true, true, true, true, true, false, false, false, true])
  })

  for (const format of Object.keys(FORMATS)) {
    test(`${format}: the same bytes as serialising each point`, async () => {
      assert.equal(await body(format, spliced), await body(format, objects))
    })
  }

  test('json and geojson with fields= fall back to the object, with the same bytes', async () => {
    const t = { ...track, fields: ['tst', 'lat', 'cc', 'ghash'] }
    for (const format of ['json', 'geojson']) assert.equal(await body(format, spliced, t), await body(format, objects, t))
  })

  test('generated locations: the same bytes and the same window, read from the text or parsed', async () => {
    let seed = 7
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const pickOne = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]
    const values = [0, -1, 1.5, 1e21, -2.5e-7, 52.52, 13.4, 'x', '', 'a,"tst":1', 'ü "q" \\', '{"lat":1}', '[1]', '\u2028', null, true, false, { lat: 1 }, [1, 2]]
    const keys = ['_type', 'tst', 'lat', 'lon', 'tid', 'acc', 'batt', 'a"tst', 'tst"', 'poi', 'cc', 'addr', 'disptst', '__proto__', '10', 'x,"lat"']
    const locs: Record<string, unknown>[] = []
    for (let i = 0; i < 4000; i++) {
      const loc: Record<string, unknown> = {}
      // the usual fields in any order (lon before lat too), now and then one missing or of another type
      const base = [
        () => { if (rnd() < 0.9) loc._type = rnd() < 0.9 ? 'location' : pickOne(['locations', 'location\n', 'transition']) },
        () => { if (rnd() < 0.95) loc.tst = rnd() < 0.9 ? Math.floor(1732456789 + rnd() * 1e5) : pickOne(values) },
        () => { if (rnd() < 0.9) loc.lat = rnd() < 0.9 ? Math.round((rnd() * 180 - 90) * 1e5) / 1e5 : pickOne(values) },
        () => { if (rnd() < 0.9) loc.lon = rnd() < 0.9 ? Math.round((rnd() * 360 - 180) * 1e5) / 1e5 : pickOne(values) },
        () => { if (rnd() < 0.5) loc[`f${Math.floor(rnd() * 10)}`] = pickOne(values) },
      ]
      while (base.length > 0) base.splice(Math.floor(rnd() * base.length), 1)[0]()
      for (let k = Math.floor(rnd() * 4); k > 0; k--) {
        const key = rnd() < 0.2 ? pickOne(keys) : `f${Math.floor(rnd() * 10)}`
        if (key === '__proto__') Object.defineProperty(loc, key, { value: pickOne(values), enumerable: true, writable: true, configurable: true })
        else loc[key] = rnd() < 0.3 ? pickOne(values) : Math.floor(rnd() * 100)
      }
      locs.push(JSON.parse(JSON.stringify(loc)) as Record<string, unknown>)
    }
    const from = 1732456789 + 2e4, to = 1732456789 + 8e4
    const inWindow = (loc: Record<string, unknown>) => typeof loc.tst === 'number' && loc.tst >= from && loc.tst <= to
    const viaText: Served[] = []
    for (const loc of locs) {
      const json = JSON.stringify(loc)
      const flat = texts.ofFlat(json, from, to)
      const parsed = JSON.parse(json) as Record<string, unknown>
      if (flat === OUTSIDE) { assert.equal(inWindow(parsed), false, json); continue }
      if (!inWindow(parsed)) { assert.equal(flat, null, json); continue }
      viaText.push(flat ?? texts.of(json, parsed) ?? enrichPoint(names.annotate(parsed)))
    }
    const viaObject = locs.filter(inWindow).map((loc) => enrichPoint(names.annotate(loc)))
    assert.ok(viaText.filter((p) => p instanceof PointText).length > viaText.length / 2)
    for (const format of ['json', 'geojson', 'geojsonpoi', 'csv']) assert.equal(await body(format, viaText), await body(format, viaObject), format)
  })

  test('coordinates read from the text are the numbers JSON.parse reads, to the last bit', () => {
    let seed = 11
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const numbers: number[] = [0, -0, 1, -1, 90, -180, 0.1, 0.3, 1e-7, 5e-324, 1e21, 123456789012345, 1234567890123456, 0.000001, 52.516312345678901]
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + Math.floor(rnd() * 17)
      const v = Number(((rnd() * 360 - 180) * 10 ** Math.floor(rnd() * 6 - 3)).toPrecision(digits))
      numbers.push(v, -v, Math.round(v))
    }
    for (const lat of numbers) {
      const json = JSON.stringify({ _type: 'location', tst: 1732456789, lat, lon: -lat })
      const flat = texts.ofFlat(json, -Infinity, Infinity)
      assert.ok(flat instanceof PointText, json)
      const parsed = JSON.parse(json) as { lat: number; lon: number }
      assert.ok(Object.is(flat.lat, parsed.lat) && Object.is(flat.lon, parsed.lon), json)
    }
  })

  test('without place names the pieces are the stored location and its time fields', () => {
    const plain = new PointTexts(undefined, enrichPoint)
    const json = JSON.stringify(stored[0])
    const p = plain.of(json, JSON.parse(json) as Record<string, unknown>)!
    assert.equal(p.json(), JSON.stringify(enrichPoint(stored[0])))
  })
})

describe('the time fields', () => {
  test('are what toISOString writes, for whole and fractional seconds, before 1970 and across days', () => {
    const byDate = (tst: number) => {
      const isotst = new Date(tst * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
      return { isotst, disptst: isotst.replace('T', ' ').replace('Z', '') }
    }
    const tsts = [0, -1, -86400, -86401, 86399, 86400, 1.5, -0.5, 253402300799, 253402300800, -62167219201, 99_999_999_999]
    for (let i = 0; i < 5000; i++) tsts.push(1735689600 + i * 61, Math.floor((i - 2500) * 1.3e7))
    for (const tst of tsts) assert.deepEqual(timeFields(tst), byDate(tst), `tst ${tst}`)
  })
})

describe('place names streamed with a track: asked once per cell', () => {
  test('a walk through Berlin, points in and across cells (towns loaded): each point has the names annotate() gives it', async () => {
    await townsReady()
    const names = new PlaceNames()
    const walk: Record<string, unknown>[] = Array.from({ length: 3000 }, (_, i) => ({
      _type: 'location', tid: 'jw', tst: 1732456789 + i * 60,
      // a few metres a minute, now and then a jump of a town or two: cells change every few points, and back
      lat: 52.5 + (i % 97) * 0.00031 + (i % 500 < 250 ? 0 : 0.08), lon: 13.4 + (i % 61) * 0.00047 - (i % 700 < 350 ? 0 : 0.15), acc: 5,
    }))
    const texts = new PointTexts(names, (loc) => enrichPoint(names.annotate(loc)))
    const spliced = walk.map((loc) => texts.ofFlat(JSON.stringify(loc), -Infinity, Infinity) as PointText)
    assert.ok(spliced.every((p) => p instanceof PointText))
    const objects = walk.map((loc) => enrichPoint(names.annotate(loc)))
    assert.ok(objects.some((o) => o.locality !== objects[0].locality), 'the walk crosses from one town into another')
    for (const format of ['json', 'geojson']) assert.equal(await body(format, spliced), await body(format, objects))
  })
})
