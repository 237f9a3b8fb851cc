import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodePayload, isLocation } from '../../src/owntracks/decode.js'
import type { DecodeResult, OwnTracksMessage } from '../../src/owntracks/types.js'

const SPEC_LOCATION = '{"_type":"location","tid":"jj","lat":48.8583,"lon":2.2945,"tst":1732456789,"acc":12,' +
  '"alt":35,"vel":4,"batt":81,"bs":1,"conn":"w","t":"u","inregions":["Home"],"created_at":1732456790}'

const NOW = () => Math.floor(Date.now() / 1000)

function ok(payload: Buffer | string | object): { message: OwnTracksMessage; normalised: string[] } {
  const r = decodePayload(typeof payload === 'object' && !Buffer.isBuffer(payload) ? JSON.stringify(payload) : payload)
  if (!r.ok) assert.fail(`expected ok, got: ${r.reason}`)
  return r
}

function rejected(payload: string | object): string {
  const r: DecodeResult = decodePayload(typeof payload === 'string' ? payload : JSON.stringify(payload))
  if (r.ok) assert.fail(`expected a rejection, got ${JSON.stringify(r.message)}`)
  return r.reason
}

const loc = (extra: object = {}) => ({ _type: 'location', lat: 48.8583, lon: 2.2945, tst: 1732456789, ...extra })

// --- location ---------------------------------------------------------------------------------

test('the spec example location decodes unchanged', () => {
  const r = ok(SPEC_LOCATION)
  assert.deepEqual(r.message, JSON.parse(SPEC_LOCATION))
  assert.deepEqual(r.normalised, [])
  assert.ok(isLocation(r.message))
})

test('a Buffer decodes like a string, and a UTF-8 byte order mark is skipped', () => {
  assert.deepEqual(ok(Buffer.from(SPEC_LOCATION)).message, JSON.parse(SPEC_LOCATION))
  assert.deepEqual(ok(Buffer.from(`\uFEFF${SPEC_LOCATION}`)).message, JSON.parse(SPEC_LOCATION))
})

test('unknown fields are kept as published, tracker extras and nested objects included', () => {
  const published = loc({
    odometer: 1234.5, vin: 'WVW', din1: true, 'temp_c-01': 21.5, poi: 'Café', tag: 'work', _id: 'a1b2',
    m: 2, extra: { nested: [1, { deep: null }] }, SSID: 'home', BSSID: 'aa:bb', topic: 'owntracks/jane/phone',
    inrids: ['r1'], p: 101.3, vac: 3, cog: 270, rad: 50,
  })
  assert.deepEqual(ok(published).message, published)
})

test('key order is kept, also for normalised fields', () => {
  const text = '{"zz":1,"tst":"1732456789000","_type":"location","lon":"2.2945","a":2,"lat":48.1}'
  const r = ok(text)
  assert.deepEqual(Object.keys(r.message), ['zz', 'tst', '_type', 'lon', 'a', 'lat'])
})

test('lat, lon and tst sent as numeric strings become numbers, and are recorded', () => {
  const r = ok({ _type: 'location', lat: '48.85', lon: '-2.5', tst: '1732456789' })
  assert.equal(r.message.lat, 48.85)
  assert.equal(r.message.lon, -2.5)
  assert.equal(r.message.tst, 1732456789)
  assert.deepEqual(r.normalised, ['lat: string to number', 'lon: string to number', 'tst: string to number'])
})

test('every optional numeric field accepts a numeric string', () => {
  const fields = ['acc', 'alt', 'vac', 'vel', 'cog', 'batt', 'bs', 'p', 'rad', 'created_at']
  const r = ok(loc(Object.fromEntries(fields.map((f, i) => [f, String(i + 1)]))))
  fields.forEach((f, i) => assert.equal(r.message[f], i + 1, f))
  assert.deepEqual(r.normalised, fields.map((f) => `${f}: string to number`))
})

test('numeric strings: signs, decimals and exponents are numbers; hex, NaN, empty and commas are not', () => {
  for (const [s, n] of [['+3', 3], ['.5', 0.5], ['5.', 5], ['1e3', 1000], ['-0', -0], ['007', 7]] as const) {
    assert.equal(ok(loc({ acc: s })).message.acc, n, s)
  }
  for (const s of ['', ' 5', '5 ', '0x10', 'NaN', 'Infinity', '1,5', '1.2.3', '--1', 'e5', '12abc']) {
    assert.equal(rejected(loc({ acc: s })), 'location: acc must be a number (got string)', JSON.stringify(s))
  }
})

test('tst in milliseconds becomes seconds (floored), and is recorded', () => {
  const r = ok(loc({ tst: 1732456789999 }))
  assert.equal(r.message.tst, 1732456789)
  assert.deepEqual(r.normalised, ['tst: milliseconds to seconds'])
})

test('tst in milliseconds as a string: both changes are recorded', () => {
  const r = ok(loc({ tst: '1732456789123' }))
  assert.equal(r.message.tst, 1732456789)
  assert.deepEqual(r.normalised, ['tst: string to number', 'tst: milliseconds to seconds'])
})

test('created_at in milliseconds becomes seconds too', () => {
  const r = ok(loc({ created_at: 1732456790500 }))
  assert.equal(r.message.created_at, 1732456790)
  assert.deepEqual(r.normalised, ['created_at: milliseconds to seconds'])
})

test('a fractional tst is floored to whole seconds', () => {
  const r = ok(loc({ tst: 1732456789.75 }))
  assert.equal(r.message.tst, 1732456789)
  assert.deepEqual(r.normalised, ['tst: fraction of a second dropped'])
})

test('a tst up to a day ahead is accepted (wrong phone clocks), later is rejected', () => {
  ok(loc({ tst: NOW() + 86_000 }))
  const future = NOW() + 2 * 86_400
  assert.equal(rejected(loc({ tst: future })), `location: tst ${future} is more than 1 day in the future`)
})

test('a location without tst is rejected: it cannot be ordered', () => {
  assert.equal(rejected({ _type: 'location', lat: 1, lon: 2 }),
    'location: tst missing (a location without a fix time cannot be ordered)')
})

test('lat and lon are required', () => {
  assert.equal(rejected({ _type: 'location', lon: 2, tst: 1 }), 'location: lat missing')
  assert.equal(rejected({ _type: 'location', lat: 1, tst: 1 }), 'location: lon missing')
})

test('lat 200, lat -90.5 and lon 180.1 are out of range', () => {
  assert.equal(rejected(loc({ lat: 200 })), 'location: lat 200 out of range [-90, 90]')
  assert.equal(rejected(loc({ lat: '200' })), 'location: lat 200 out of range [-90, 90]')
  assert.equal(rejected(loc({ lat: -90.5 })), 'location: lat -90.5 out of range [-90, 90]')
  assert.equal(rejected(loc({ lon: 180.1 })), 'location: lon 180.1 out of range [-180, 180]')
  ok(loc({ lat: -90, lon: 180 }))
  ok(loc({ lat: 90, lon: -180 }))
})

test('a number too big for a double (1e400 parses to Infinity) is rejected', () => {
  assert.equal(rejected('{"_type":"location","lat":1e400,"lon":2,"tst":1}'), 'location: lat Infinity is not a finite number')
})

test('a negative tst is rejected; 0 is 1970 and allowed', () => {
  assert.equal(rejected(loc({ tst: -5 })), 'location: tst -5 is negative')
  ok(loc({ tst: 0 }))
})

test('wrong types are rejected naming the field', () => {
  assert.equal(rejected(loc({ lat: true })), 'location: lat must be a number (got boolean)')
  assert.equal(rejected(loc({ tst: [1] })), 'location: tst must be a number (got array)')
  assert.equal(rejected(loc({ acc: 'abc' })), 'location: acc must be a number (got string)')
  assert.equal(rejected(loc({ batt: null })), 'location: batt must be a number (got null)')
  assert.equal(rejected(loc({ tid: 12 })), 'location: tid must be a string (got number)')
  assert.equal(rejected(loc({ t: {} })), 'location: t must be a string (got object)')
  assert.equal(rejected(loc({ conn: false })), 'location: conn must be a string (got boolean)')
  assert.equal(rejected(loc({ SSID: 1 })), 'location: SSID must be a string (got number)')
  assert.equal(rejected(loc({ topic: null })), 'location: topic must be a string (got null)')
  assert.equal(rejected(loc({ inregions: 'Home' })), 'location: inregions must be an array (got string)')
  assert.equal(rejected(loc({ inrids: ['a', 3] })), 'location: inrids[1] must be a string (got number)')
})

// --- not OwnTracks at all -----------------------------------------------------------------------

test('mosquitto_pub -m "hello world" is not JSON', () => {
  assert.equal(rejected('hello world'), 'not JSON')
})

test('malformed JSON is not JSON', () => {
  assert.equal(rejected('{"_type":"location","lat":48.8'), 'not JSON')
  assert.equal(rejected("{'_type':'location'}"), 'not JSON')
  assert.equal(rejected('   '), 'not JSON')
  assert.equal(rejected(Buffer.from([0xff, 0xfe, 0x00]).toString('latin1')), 'not JSON')
})

test('an empty payload (clearing a retained message) is rejected as such', () => {
  assert.equal(rejected(''), 'empty payload')
  const r = decodePayload(Buffer.alloc(0))
  assert.deepEqual(r, { ok: false, reason: 'empty payload' })
})

test('JSON that is not an object is rejected', () => {
  assert.equal(rejected('[1,2]'), 'not a JSON object (got array)')
  assert.equal(rejected('null'), 'not a JSON object (got null)')
  assert.equal(rejected('42'), 'not a JSON object (got number)')
  assert.equal(rejected('"location"'), 'not a JSON object (got string)')
  assert.equal(rejected('true'), 'not a JSON object (got boolean)')
})

test('missing, non-string and unknown _type are rejected', () => {
  assert.equal(rejected({ lat: 1, lon: 2, tst: 3 }), 'no _type')
  assert.equal(rejected({ _type: 5 }), '_type must be a string (got number)')
  assert.equal(rejected({ _type: null }), '_type must be a string (got null)')
  assert.equal(rejected({ _type: 'foo' }), "unknown _type 'foo'")
  assert.equal(rejected({ _type: 'Location' }), "unknown _type 'Location'")
  assert.equal(rejected({ _type: 'msg' }), "unknown _type 'msg'")
  // Inherited property names must not pass for types.
  assert.equal(rejected({ _type: 'constructor' }), "unknown _type 'constructor'")
  assert.equal(rejected({ _type: '__proto__' }), "unknown _type '__proto__'")
})

test('an unknown _type is cut and cannot forge log lines', () => {
  const reason = rejected({ _type: `evil\n2024-01-01 INFO fake line ${'x'.repeat(100)}` })
  assert.equal(reason, "unknown _type 'evil?2024-01-01 INFO fake line x…'")
  assert.ok(!reason.includes('\n'))
})

test('reasons never contain the payload', () => {
  const secret = 'Rue de la Paix 12'
  const payloads = [
    `hello ${secret}`,
    `{"_type":"location","lat":48.8583123,"lon":2.2945123,"desc":"${secret}"`,
    { _type: 'location', lat: 48.8583123, lon: 2.2945123, desc: secret },
    { _type: 'location', lat: 48.8583123, lon: 2.2945123, tst: 1, acc: secret },
    { _type: 'location', lat: 48.8583123, lon: 2.2945123, tst: 1, tid: 77, desc: secret },
    { _type: 'transition', tst: 1, event: secret },
    { _type: 'encrypted', data: `${secret}!` },
    { _type: 'configuration', password: secret, waypoints: [secret] },
    { _type: 'card', name: 12, face: secret },
  ]
  for (const p of payloads) {
    const r = decodePayload(typeof p === 'string' ? p : JSON.stringify(p))
    if (p instanceof Object && (p as { _type?: string })._type === 'configuration') {
      assert.ok(r.ok)
      continue
    }
    assert.ok(!r.ok)
    assert.ok(!r.reason.includes(secret) && !r.reason.includes('48.858') && !r.reason.includes('2.294'), r.reason)
  }
})

// --- the other _types ---------------------------------------------------------------------------

test('transition as iOS publishes it decodes unchanged', () => {
  const t = { _type: 'transition', wtst: 1425042603, lat: 12.34, lon: 44.5, tst: 1427634603, acc: 130, tid: 'JP',
    event: 'enter', desc: 'my Indian restaurant', t: 'c', rid: 'a1b2c3', created_at: 1427634605 }
  const r = ok(t)
  assert.deepEqual(r.message, t)
  assert.deepEqual(r.normalised, [])
})

test('transition: acc, wtst, desc, lat and lon may be left out (apps do), tst and event may not', () => {
  ok({ _type: 'transition', tst: 1427634603, event: 'leave' })
  assert.equal(rejected({ _type: 'transition', event: 'leave' }), 'transition: tst missing')
  assert.equal(rejected({ _type: 'transition', tst: 1 }), "transition: event must be 'enter' or 'leave'")
  assert.equal(rejected({ _type: 'transition', tst: 1, event: 'arrive' }), "transition: event must be 'enter' or 'leave'")
  assert.equal(rejected({ _type: 'transition', tst: 1, event: 'enter', lat: 91 }), 'transition: lat 91 out of range [-90, 90]')
  assert.equal(rejected({ _type: 'transition', tst: 1, event: 'enter', desc: 3 }), 'transition: desc must be a string (got number)')
})

test('transition: numeric strings and milliseconds in tst, wtst and lat are normalised', () => {
  const r = ok({ _type: 'transition', tst: '1427634603000', wtst: 1425042603000, lat: '12.5', event: 'enter' })
  assert.equal(r.message.tst, 1427634603)
  assert.equal(r.message.wtst, 1425042603)
  assert.equal(r.message.lat, 12.5)
  assert.deepEqual(r.normalised, ['tst: string to number', 'lat: string to number',
    'tst: milliseconds to seconds', 'wtst: milliseconds to seconds'])
})

test('waypoint: desc and tst required, beacon fields allowed', () => {
  const w = { _type: 'waypoint', desc: 'Home', lat: 48.1, lon: 2.2, rad: 100, tst: 1600000000, rid: 'x1',
    uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0', major: 1, minor: 2 }
  assert.deepEqual(ok(w).message, w)
  assert.equal(rejected({ _type: 'waypoint', tst: 1 }), 'waypoint: desc missing')
  assert.equal(rejected({ _type: 'waypoint', desc: 'Home' }), 'waypoint: tst missing')
  assert.equal(ok({ _type: 'waypoint', desc: 'Home', tst: 1600000000000 }).message.tst, 1600000000)
  assert.equal(rejected({ _type: 'waypoint', desc: 'Home', tst: 1, lon: -200 }), 'waypoint: lon -200 out of range [-180, 180]')
})

test('waypoints: a list of waypoints, each normalised, with its path recorded', () => {
  const r = ok({ _type: 'waypoints', _creator: 'iOS', waypoints: [
    { _type: 'waypoint', desc: 'Home', tst: 1600000000, lat: 1, lon: 2, rad: 50 },
    { desc: 'Work', tst: '1600000001000', rad: '75' },
  ] })
  const items = r.message.waypoints as Array<Record<string, unknown>>
  assert.equal(items[1].tst, 1600000001)
  assert.equal(items[1].rad, 75)
  assert.deepEqual(r.normalised, ['waypoints[1].tst: string to number', 'waypoints[1].rad: string to number',
    'waypoints[1].tst: milliseconds to seconds'])
  ok({ _type: 'waypoints', waypoints: [] })
})

test('waypoints: a missing list or a bad item is rejected with its index', () => {
  assert.equal(rejected({ _type: 'waypoints' }), 'waypoints: waypoints missing')
  assert.equal(rejected({ _type: 'waypoints', waypoints: {} }), 'waypoints: waypoints must be an array (got object)')
  assert.equal(rejected({ _type: 'waypoints', waypoints: [{ desc: 'a', tst: 1 }, 'b'] }),
    'waypoints: waypoints[1] must be an object (got string)')
  assert.equal(rejected({ _type: 'waypoints', waypoints: [{ desc: 'a' }] }), 'waypoints: waypoints[0].tst missing')
  assert.equal(rejected({ _type: 'waypoints', waypoints: [{ _type: 'location', desc: 'a', tst: 1 }] }),
    "waypoints: waypoints[0]._type must be 'waypoint'")
})

test('card: name, face and tid are optional strings', () => {
  const c = { _type: 'card', name: 'Jane', face: 'iVBORw0KGgo=', tid: 'jj' }
  assert.deepEqual(ok(c).message, c)
  ok({ _type: 'card' })
  assert.equal(rejected({ _type: 'card', name: 5 }), 'card: name must be a string (got number)')
})

test('lwt: tst required, milliseconds normalised', () => {
  assert.deepEqual(ok({ _type: 'lwt', tst: 1380738247 }).message, { _type: 'lwt', tst: 1380738247 })
  assert.equal(ok({ _type: 'lwt', tst: 1380738247000 }).message.tst, 1380738247)
  assert.equal(rejected({ _type: 'lwt' }), 'lwt: tst missing')
})

test('cmd: action required, everything else kept as sent', () => {
  for (const c of [
    { _type: 'cmd', action: 'reportLocation' },
    { _type: 'cmd', action: 'reportSteps', from: '1700000000', to: 1700086400000 },
    { _type: 'cmd', action: 'setWaypoints', waypoints: { _type: 'waypoints', waypoints: [] } },
    { _type: 'cmd', action: 'setConfiguration', configuration: { _type: 'configuration', locatorInterval: 60 } },
    { _type: 'cmd', action: 'action', content: 'maintenance tonight', extern: true },
    { _type: 'cmd', action: 'response', request: 'tour', status: 200, tour: { uuid: 'u', url: 'http://x' } },
  ]) {
    const r = ok(c)
    assert.deepEqual(r.message, c)
    assert.deepEqual(r.normalised, [])
  }
  assert.equal(rejected({ _type: 'cmd' }), 'cmd: action missing')
  assert.equal(rejected({ _type: 'cmd', action: 1 }), 'cmd: action must be a string (got number)')
})

test('configuration: any object, secrets included, kept as sent', () => {
  const c = { _type: 'configuration', mode: 0, username: 'jane', password: 's3cret', tst: '123',
    waypoints: [{ _type: 'waypoint', desc: 'Home', tst: 'nope' }] }
  const r = ok(c)
  assert.deepEqual(r.message, c)
  assert.deepEqual(r.normalised, [])
})

test('steps: tst, steps, from and to are numbers, epochs normalised', () => {
  const s = { _type: 'steps', tst: 1700000000, steps: 4242, from: 1699990000, to: 1700000000 }
  assert.deepEqual(ok(s).message, s)
  ok({ _type: 'steps', steps: -1 })
  const r = ok({ _type: 'steps', steps: '12', from: 1699990000000 })
  assert.equal(r.message.steps, 12)
  assert.equal(r.message.from, 1699990000)
  assert.equal(rejected({ _type: 'steps', steps: 'many' }), 'steps: steps must be a number (got string)')
})

test('beacon: ranging fields are numbers', () => {
  const b = { _type: 'beacon', uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0', major: 1, minor: 2, prox: 1,
    rssi: -60, acc: 0.5, tst: 1700000000, desc: 'car' }
  assert.deepEqual(ok(b).message, b)
  assert.equal(ok({ _type: 'beacon', rssi: '-60' }).message.rssi, -60)
  assert.equal(rejected({ _type: 'beacon', prox: 'near' }), 'beacon: prox must be a number (got string)')
})

test('status: kept as published', () => {
  const s = { _type: 'status', android: { hib: 1, bo: 0, loc: 0, ps: 1, wifi: 1 } }
  assert.deepEqual(ok(s).message, s)
  ok({ _type: 'status', iOS: { locm: 'Always' } })
})

test('request: tour, tours and untour', () => {
  const tour = { _type: 'request', request: 'tour',
    tour: { label: 'Meeting in Essen', from: '2022-08-01T05:35:58', to: '2022-08-02T15:00:58' } }
  assert.deepEqual(ok(tour).message, tour)
  ok({ _type: 'request', request: 'tours' })
  ok({ _type: 'request', request: 'untour', uuid: '0a721022-c54a-49a4-9f5a-f1a76dd92e9e' })
  assert.equal(rejected({ _type: 'request' }), 'request: request missing')
  assert.equal(rejected({ _type: 'request', request: 'tour', tour: 'x' }), 'request: tour must be an object (got string)')
  assert.equal(rejected({ _type: 'request', request: 'tour', tour: { label: 3 } }), 'request: tour.label must be a string (got number)')
})

test('encrypted: data must be base64', () => {
  const e = { _type: 'encrypted', data: 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ+/8=' }
  assert.deepEqual(ok(e).message, e)
  ok({ _type: 'encrypted', data: 'q83vEjRWeJCr\nze8SNFZ4kKvN7xI0VniQ+/8=\n' })
  ok({ _type: 'encrypted', data: 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ+/8A' })
  assert.equal(rejected({ _type: 'encrypted' }), 'encrypted: data missing')
  assert.equal(rejected({ _type: 'encrypted', data: '' }), 'encrypted: data is not base64')
  assert.equal(rejected({ _type: 'encrypted', data: 'not base64!' }), 'encrypted: data is not base64')
  assert.equal(rejected({ _type: 'encrypted', data: 'ab=cd' }), 'encrypted: data is not base64')
  assert.equal(rejected({ _type: 'encrypted', data: 'abc===' }), 'encrypted: data is not base64')
})

// --- big payloads: size is the listeners' business, decoding must stay linear -----------------------

test('a 1 MB string field decodes: a card face, an unknown location field', () => {
  const face = 'A'.repeat(1024 * 1024)
  assert.equal(ok({ _type: 'card', name: 'Jane', face }).message.face, face)
  assert.equal(ok(loc({ raw_line: face })).message.raw_line, face)
})

test('a 1 MB numeric string or base64 full of blanks is rejected quickly', () => {
  const started = Date.now()
  assert.equal(rejected(loc({ acc: '1'.repeat(1024 * 1024) })), 'location: acc must be a number (got string)')
  assert.equal(rejected({ _type: 'encrypted', data: `A${' '.repeat(1024 * 1024)}!` }), 'encrypted: data is not base64')
  ok({ _type: 'encrypted', data: `AAAA${'\n'.repeat(1024 * 1024)}` })
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
})

// --- isLocation ---------------------------------------------------------------------------------

test('isLocation tells locations from other messages and from junk', () => {
  assert.equal(isLocation(ok(SPEC_LOCATION).message), true)
  assert.equal(isLocation(ok({ _type: 'lwt', tst: 1 }).message), false)
  assert.equal(isLocation({ _type: 'location', lat: '1', lon: 2, tst: 3 }), false)
  assert.equal(isLocation(null), false)
  assert.equal(isLocation('location'), false)
})

test('decoding does not share state between calls', () => {
  const a = ok(loc({ acc: '5' }))
  const b = ok(loc())
  assert.deepEqual(a.normalised, ['acc: string to number'])
  assert.deepEqual(b.normalised, [])
  assert.notEqual(a.message, b.message)
})
