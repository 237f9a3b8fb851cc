import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import ngeohash from 'ngeohash'
import { finer, snap } from '../../src/access/precision.js'
import { shape } from '../../src/access/view-fields.js'
import type { GridPrecision as Precision } from '../../src/access/types.js'

const KM: Precision = { kind: 'metres', metres: 1000, text: '1km' }
const GH5: Precision = { kind: 'geohash', length: 5, text: 'geohash 5' }

/** Great-circle distance in metres. */
function metres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = (d: number) => (d * Math.PI) / 180
  const h = Math.sin(r(b.lat - a.lat) / 2) ** 2 + Math.cos(r(a.lat)) * Math.cos(r(b.lat)) * Math.sin(r(b.lon - a.lon) / 2) ** 2
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h))
}

describe('precision: positions snapped to a fixed grid', () => {
  const places = [
    { lat: 48.858370, lon: 2.294481 }, { lat: -33.856784, lon: 151.215297 }, { lat: 64.1466, lon: -21.9426 },
    { lat: 0.0001, lon: -0.0001 }, { lat: 89.99, lon: 179.99 }, { lat: -89.99, lon: -179.99 },
  ]

  test('the true fix is within `acc` of what the receiver gets, and the receiver never gets the fix', () => {
    for (const p of [KM, GH5, { kind: 'metres', metres: 50, text: '50m' } as Precision]) {
      for (const x of places) {
        const c = snap(x.lat, x.lon, p)
        assert.ok(metres(x, c) <= c.radius, `${p.text} ${x.lat},${x.lon} → ${c.lat},${c.lon} (${metres(x, c)} m > ${c.radius})`)
        assert.ok(c.lat !== x.lat || c.lon !== x.lon)
      }
    }
  })

  test('every fix in one cell gives the same answer, so averaging reveals nothing', () => {
    const a = snap(48.8584, 2.2945, KM)
    const b = snap(48.8580, 2.2950, KM)
    assert.deepEqual(a, b)
    assert.notDeepEqual(snap(48.8584, 2.2945, KM), snap(48.8584 + 0.02, 2.2945, KM), 'two kilometres north is another cell')
    assert.deepEqual(snap(48.8584, 2.2945, GH5), snap(48.8581, 2.2949, GH5))
    const g = snap(48.8584, 2.2945, GH5)
    assert.equal(ngeohash.encode(g.lat, g.lon, 5), ngeohash.encode(48.8584, 2.2945, 5), 'the centre of the geohash cell')
  })

  test('shape: coordinates snapped, acc raised, revealing and unknown fields gone, the rest kept', () => {
    const m = { _type: 'location', lat: 48.85837, lon: 2.294481, acc: 12, tst: 1, batt: 50, SSID: 's', BSSID: 'b', inregions: ['Home'], inrids: ['1'], addr: 'a', poi: 'p', tid: 'jj', image: 'x', imagename: 'y', tag: 'z', newfield: 1 }
    const out = shape(m, 'location', KM)!
    assert.deepEqual(Object.keys(out).sort(), ['_type', 'acc', 'batt', 'lat', 'lon', 'tid', 'tst'])
    assert.ok((out.acc as number) >= 700)
    assert.equal(m.lat, 48.85837, 'the original is not touched')
    assert.equal(shape({ ...m, acc: 5000 }, 'location', KM)!.acc, 5000, 'a worse accuracy stays')
    assert.equal(shape({ ...m, lat: '48.85837' }, 'location', KM), null, 'coordinates in another spelling: withheld')
  })

  test('shape: a part shows only its own types; a grid shows locations, wills and cards', () => {
    const loc = { _type: 'location', lat: 1.5, lon: 2.5, tst: 1 }
    assert.notEqual(shape(loc, 'location', KM)!.lat, 1.5)
    const lwt = { _type: 'lwt', tst: 1 }
    assert.deepEqual(shape(lwt, 'location', KM), lwt)
    assert.equal(shape(lwt, 'location', null), lwt, 'exact: the message itself')
    assert.equal(shape({ _type: 'encrypted', data: 'xx' }, 'location', KM), null)
    assert.ok(shape({ _type: 'encrypted', data: 'xx' }, 'location', null))
    assert.equal(shape({ _type: 'transition', lat: 1, lon: 2 }, 'events', KM), null)
    assert.ok(shape({ _type: 'transition', lat: 1, lon: 2 }, 'events', null))
    assert.equal(shape({ _type: 'card', name: 'J' }, 'location', null), null, 'a card on the location topic is not a location')
    assert.equal(shape({ _type: 'location', lat: 1, lon: 2, tst: 1 }, 'card', null), null)
    assert.deepEqual(shape({ _type: 'card', name: 'J', face: 'f' }, 'card', KM), { _type: 'card', name: 'J', face: 'f' })
  })

  test('finer: exact beats any grid; a smaller cell beats a larger one', () => {
    assert.equal(finer(KM, null), null)
    assert.equal(finer(KM, GH5), KM)
    assert.equal(finer({ kind: 'geohash', length: 7, text: 'geohash 7' }, KM)?.text, 'geohash 7')
  })
})
