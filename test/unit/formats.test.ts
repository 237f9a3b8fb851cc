import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { enrichLast, enrichPoint } from '../../src/store/enrich.js'
import { CSV_COLUMNS } from '../../src/store/formats/csv.js'
import { FORMATS, formatStream, type Point, type Track } from '../../src/store/formats/index.js'
import { parseCsv, parseGpx, parseXml } from '../helpers/formats-parse.js'

const track: Track = { user: 'jane', device: 'phone' }

const points: Point[] = [
  { _type: 'location', tid: 'jp', lat: 48.8583, lon: 2.2945, tst: 1732456789, alt: 35, batt: 81, inregions: ['Home', 'Work'] },
  // awkward content: quotes, commas, markup and a line break in strings; tiny numbers; a field name XML cannot use
  { _type: 'location', tid: 'j"p', lat: 1e-7, lon: -179.5, tst: 1732456849, addr: 'Rue "A", <b>&</b>\nParis', 'odd key': 1 },
  { _type: 'location', tid: 'jp', lat: -33.86, lon: 151.21, tst: 1732456909, poi: 'Opera', acc: 5 },
].map(enrichPoint)

async function render(format: string, pts: Point[] = points, t: Track = track): Promise<string> {
  async function* gen() { yield* pts }
  return new Response(formatStream(gen(), FORMATS[format], t)).text()
}

describe('locations formats, parsed back', () => {
  test('json: {data, count, status} with every point as served', async () => {
    const out = JSON.parse(await render('json')) as { count: number; data: Point[]; status: number }
    assert.equal(out.count, 3)
    assert.equal(out.status, 200)
    assert.deepEqual(out.data, points)
    assert.equal(out.data[0].isotst, '2024-11-24T13:59:49Z')
    assert.equal(out.data[0].disptst, '2024-11-24 13:59:49')
    assert.equal(out.data[0].ghash, 'u09tunq')
  })

  test('json with fields keeps only those keys, in that order', async () => {
    const out = JSON.parse(await render('json', points, { ...track, fields: ['tst', 'lat', 'nope'] })) as { data: Point[] }
    assert.deepEqual(out.data.map((p) => Object.keys(p)), [['tst', 'lat'], ['tst', 'lat'], ['tst', 'lat']])
  })

  test('geojson: a FeatureCollection of Points, longitude first, other fields as properties', async () => {
    const out = JSON.parse(await render('geojson')) as { type: string; features: { type: string; geometry: { type: string; coordinates: number[] }; properties: Point }[] }
    assert.equal(out.type, 'FeatureCollection')
    assert.deepEqual(out.features.map((f) => f.geometry), points.map((p) => ({ type: 'Point', coordinates: [p.lon, p.lat] })))
    assert.ok(out.features.every((f) => f.type === 'Feature'))
    assert.equal(out.features[1].properties.addr, points[1].addr)
    assert.equal(out.features[0].properties.lat, undefined, 'coordinates live in the geometry')
  })

  test('geojsonpoi: only points with a poi', async () => {
    const out = JSON.parse(await render('geojsonpoi')) as { features: { properties: Point }[] }
    assert.deepEqual(out.features.map((f) => f.properties.poi), ['Opera'])
  })

  test('linestring: one Feature with a LineString through every point', async () => {
    const out = JSON.parse(await render('linestring')) as { type: string; geometry: { type: string; coordinates: number[][] } }
    assert.equal(out.type, 'Feature')
    assert.equal(out.geometry.type, 'LineString')
    assert.deepEqual(out.geometry.coordinates, points.map((p) => [p.lon, p.lat]))
  })

  test('csv: a header row, then one row per point; quoting survives commas, quotes and line breaks', async () => {
    const rows = parseCsv(await render('csv'))
    assert.deepEqual(rows[0], CSV_COLUMNS)
    assert.equal(rows.length, 4)
    const col = (name: string) => rows.slice(1).map((r) => r[rows[0].indexOf(name)])
    assert.deepEqual(col('lat').map(Number), points.map((p) => p.lat))
    assert.deepEqual(col('tid'), ['jp', 'j"p', 'jp'])
    assert.deepEqual(col('isotst'), points.map((p) => p.isotst))
    assert.deepEqual(col('alt'), ['35', '', ''], 'a missing field is an empty cell')
  })

  test('csv with fields picks and orders the columns; arrays are JSON in one cell', async () => {
    const rows = parseCsv(await render('csv', points, { ...track, fields: ['addr', 'inregions', 'tst'] }))
    assert.deepEqual(rows[0], ['addr', 'inregions', 'tst'])
    assert.deepEqual(rows[1], ['', '["Home","Work"]', '1732456789'])
    assert.deepEqual(rows[2], ['Rue "A", <b>&</b>\nParis', '', '1732456849'])
  })

  test('gpx: valid GPX 1.1 with a trkpt per point, elevation and time, decimals without exponents', async () => {
    const text = await render('gpx')
    const pts = parseGpx(text)
    assert.deepEqual(pts, [
      { lat: 48.8583, lon: 2.2945, ele: 35, time: '2024-11-24T13:59:49Z' },
      { lat: 1e-7, lon: -179.5, time: '2024-11-24T14:00:49Z' },
      { lat: -33.86, lon: 151.21, time: '2024-11-24T14:01:49Z' },
    ])
    assert.match(text, /<name>jane\/phone<\/name>/)
  })

  test('xml: <owntracks><point> with an element per field, escaped; odd names kept as <field name>', async () => {
    const pts = parseXml(await render('xml'))
    assert.equal(pts.length, 3)
    assert.equal(pts[0].tst, '1732456789')
    assert.equal(pts[0].inregions, '["Home","Work"]')
    assert.equal(pts[1].addr, 'Rue "A", <b>&</b>\nParis')
    assert.equal(pts[1]['odd key'], '1')
    assert.equal(pts[2].poi, 'Opera')
  })

  test('no points: every format is still well-formed', async () => {
    assert.deepEqual(JSON.parse(await render('json', [])), { data: [], count: 0, status: 200 })
    assert.deepEqual((JSON.parse(await render('geojson', [])) as { features: unknown[] }).features, [])
    assert.deepEqual(parseGpx(await render('gpx', [])), [])
    assert.deepEqual(parseXml(await render('xml', [])), [])
    assert.deepEqual(parseCsv(await render('csv', [])), [CSV_COLUMNS])
  })

  test('points without coordinates are left out where a format needs them', async () => {
    const cardLike = [{ _type: 'location', tst: 1732456789 }]
    assert.deepEqual(parseGpx(await render('gpx', cardLike)), [])
    assert.deepEqual((JSON.parse(await render('linestring', cardLike)) as { geometry: { coordinates: unknown[] } }).geometry.coordinates, [])
    assert.equal((JSON.parse(await render('json', cardLike)) as { count: number }).count, 1)
  })

  test('the opening leaves before the store has produced a single point', async () => {
    let release!: () => void
    const blocked = new Promise<void>((r) => { release = r })
    async function* stuck() { await blocked; yield points[0] }
    const reader = formatStream(stuck(), FORMATS.gpx, track).getReader()
    const first = await reader.read()
    assert.match(new TextDecoder().decode(first.value), /^<\?xml[^]*<trkseg>\n$/)
    release()
    await reader.cancel()
  })
})

test('a point is enriched with the keys, order and values of { ...loc, ...timeFields(tst), ghash }, a payload\'s own "__proto__" kept as a field', async () => {
  const { timeFields } = await import('../../src/store/enrich.js')
  const loc = JSON.parse('{"_type":"location","isotst":"sent by the phone","lat":52.5,"lon":13.4,"__proto__":{"x":1},"tst":1700000000,"batt":5}') as Record<string, unknown>
  const got = enrichPoint(loc)
  const want: Record<string, unknown> = { ...loc, ...timeFields(1700000000) }
  want.ghash = got.ghash
  assert.equal(JSON.stringify(got), JSON.stringify(want))
  assert.equal(Object.getPrototypeOf(got), Object.prototype)
  assert.equal((got as { x?: unknown }).x, undefined)
})

test("a device's last location has the keys, order and values of { ...enrichPoint(loc), username, device, topic }, the card's name and face after them", () => {
  const loc = JSON.parse('{"_type":"location","device":"sent by the phone","lat":52.5,"lon":13.4,"__proto__":{"x":1},"tst":1700000000,"topic":"t"}') as Record<string, unknown>
  const got = enrichLast(loc, 'jane', 'phone', 'owntracks/jane/phone', { name: 'Jane', face: 'AAAA' })
  const want: Record<string, unknown> = { ...enrichPoint(loc), username: 'jane', device: 'phone', topic: 'owntracks/jane/phone', name: 'Jane', face: 'AAAA' }
  assert.equal(JSON.stringify(got), JSON.stringify(want))
  assert.equal(Object.getPrototypeOf(got), Object.prototype)
})
