import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { offlinePlace, offlineZone } from '../../src/geo/offline.js'
import { nearestTown, townsReady } from '../../src/geo/towns.js'

describe('country and time zone offline, in a handful of countries, near a border and at sea', () => {
  const cases: [string, number, number, string | undefined, string][] = [
    ['London', 51.5007, -0.1246, 'GB', 'Europe/London'],
    ['Paris', 48.8584, 2.2945, 'FR', 'Europe/Paris'],
    ['Basel, 300 m from France', 47.5596, 7.5886, 'CH', 'Europe/Zurich'],
    ['Weil am Rhein, across the border from Basel', 47.5900, 7.6200, 'DE', 'Europe/Berlin'],
    ['New York', 40.7128, -74.006, 'US', 'America/New_York'],
    ['Sydney', -33.8688, 151.2093, 'AU', 'Australia/Sydney'],
    ['Tokyo', 35.6762, 139.6503, 'JP', 'Asia/Tokyo'],
    ['mid-Atlantic', 45, -30, undefined, 'Etc/GMT+2'],
    ['off the French coast, in its waters', 43.0, 5.5, 'FR', 'Europe/Paris'],
  ]
  for (const [name, lat, lon, cc, tz] of cases) {
    test(`${name}: ${cc ?? 'no country'}, ${tz}`, () => {
      const p = offlinePlace(lat, lon)
      assert.equal(p.cc, cc)
      assert.equal(p.tzname, tz)
    })
  }

  test('the towns load on first use, in the background: until then a place has no town', async () => {
    assert.equal(nearestTown(47.5596, 7.5886), undefined)
    await townsReady()
    assert.equal(nearestTown(47.5596, 7.5886), 'Basel')
  })

  test('the nearest town, and none at sea', () => {
    assert.equal(offlinePlace(47.5596, 7.5886).locality, 'Basel')
    assert.equal(offlinePlace(45, -30).locality, undefined)
    assert.equal(offlinePlace(52.0907, 5.1214, 'country').locality, undefined)
  })

  test('coordinates out of range name nothing', () => {
    assert.deepEqual(offlinePlace(91, 0), {})
    assert.deepEqual(offlinePlace(Number.NaN, 0), {})
  })
})

describe('names per ~100 m cell', () => {
  test('two fixes in one cell get the names of its centre, a named town included once the towns are loaded', async () => {
    await townsReady()
    const a = offlinePlace(47.55962, 7.58861)
    const b = offlinePlace(47.55978, 7.58849)
    assert.deepEqual(a, b)
    assert.deepEqual(a, { cc: 'CH', tzname: 'Europe/Zurich', locality: 'Basel' })
  })

  test('an answer changed by its caller (an address added) does not change the next answer for the cell', () => {
    const first = offlinePlace(48.85841, 2.29452)
    first.addr = '5 Avenue Anatole France'
    assert.equal(offlinePlace(48.85843, 2.29449).addr, undefined)
  })
})

describe('a stored location with its names added', () => {
  test('the names come first, what the phone sent itself wins, and every field of the payload stays a plain field', async () => {
    const { PlaceNames } = await import('../../src/geo/place-names.js')
    await townsReady()
    const loc = JSON.parse('{"_type":"location","lat":47.5596,"lon":7.5886,"tst":1700000000,"locality":"Kleinbasel","__proto__":{"admin":true},"x":1}') as Record<string, unknown>
    const out = new PlaceNames().annotate(loc)
    assert.deepEqual(Object.keys(out), ['cc', 'tzname', 'locality', '_type', 'lat', 'lon', 'tst', '__proto__', 'x'])
    assert.equal(out.locality, 'Kleinbasel')
    assert.equal(out.cc, 'CH')
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.equal((out as { admin?: unknown }).admin, undefined)
    assert.equal(JSON.stringify(out), JSON.stringify({ ...{ cc: 'CH', tzname: 'Europe/Zurich', locality: 'Basel' }, ...loc }))
  })
})

describe('a zone alone', () => {
  test('is the zone offlinePlace names, at sea and on land, and nothing out of range', () => {
    for (const [lat, lon] of [[51.5007, -0.1246], [47.5596, 7.5886], [47.59, 7.62], [-33.8688, 151.2093], [45, -30], [43.0, 5.5], [0, 0], [89.9999, 179.9999]]) {
      assert.equal(offlineZone(lat, lon), offlinePlace(lat, lon).tzname, `${lat},${lon}`)
    }
    assert.equal(offlineZone(91, 0), undefined)
    assert.equal(offlineZone(Number.NaN, 0), undefined)
  })

  test("does not load the countries' borders (a stall of some 60 ms the first time)", () => {
    const offline = fileURLToPath(new URL('../../src/geo/offline.js', import.meta.url))
    const script = `const { offlineZone } = await import(${JSON.stringify(offline)}); const { createRequire } = await import('node:module')
      const require = createRequire(${JSON.stringify(offline)})
      console.log(offlineZone(52.52, 13.4), Object.keys(require.cache).some((p) => p.includes('country-coder')))`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'Europe/Berlin false')
  })
})
