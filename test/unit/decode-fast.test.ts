import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodePayload, decodePayloadBySchema } from '../../src/owntracks/decode.js'

/*
 * The hand-written check for plain locations (owntracks/location-check.ts) must decide exactly as the
 * zod schema does: same acceptance, same stored message, same normalisations, same reason. Payloads are
 * built from the fields a location has, each given a right or a wrong value, plus unknown fields.
 */

const NOW = Math.floor(Date.now() / 1000)
const DAY = 86_400

/** Raw JSON text for a value, so Infinity (1e400), -0 and numbers as strings can be expressed. */
const anyJson = fc.oneof(
  fc.constant('null'), fc.constant('true'), fc.constant('"x"'), fc.constant('""'), fc.constant('[]'), fc.constant('{}'),
  fc.constant('1e400'), fc.constant('-1e400'), fc.constant('-0'), fc.constant('"12.5"'), fc.constant('"0x10"'), fc.constant('"NaN"'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String), fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }).map((a) => JSON.stringify(a)),
  fc.constant('["a",1]'),
)
const num = (lo: number, hi: number) => fc.oneof(
  fc.double({ min: lo, max: hi, noNaN: true }).map((n) => JSON.stringify(n)),
  fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }).map(String),
  fc.double({ min: lo, max: hi, noNaN: true }).map((n) => JSON.stringify(String(n))), // numeric string: normalised
)
const field = (good: fc.Arbitrary<string>) => fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: anyJson })
const tst = fc.oneof(
  fc.integer({ min: 0, max: NOW + DAY - 60 }).map(String),
  fc.integer({ min: NOW - 10 * 365 * DAY, max: NOW }).map((s) => String(s * 1000 + 123)), // milliseconds
  fc.double({ min: 0, max: NOW, noNaN: true }).map(String), // a fraction
  fc.integer({ min: NOW + DAY + 120, max: NOW + 100 * DAY }).map(String), // too far ahead
  fc.integer({ min: -1e6, max: -1 }).map(String),
)

const FIELDS: [string, fc.Arbitrary<string>][] = [
  ['lat', num(-95, 95)], ['lon', num(-185, 185)], ['tst', tst], ['created_at', tst],
  ...['acc', 'alt', 'vac', 'vel', 'cog', 'batt', 'bs', 'p', 'rad'].map((k): [string, fc.Arbitrary<string>] => [k, num(-1e6, 1e6)]),
  ...['tid', 't', 'conn', 'SSID', 'BSSID', 'topic'].map((k): [string, fc.Arbitrary<string>] => [k, fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s))]),
  ...['inregions', 'inrids'].map((k): [string, fc.Arbitrary<string>] => [k, fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }).map((a) => JSON.stringify(a))]),
  ['extra', anyJson], ['_id', anyJson],
]

/** A location payload: `_type` first, then each field present (required ones usually) or left out. */
const payload = fc.tuple(
  fc.oneof({ weight: 9, arbitrary: fc.constant('"location"') }, { weight: 1, arbitrary: fc.constantFrom('"transition"', '"Location"', '5') }),
  fc.tuple(...FIELDS.map(([k, v]) => fc.option(field(v), { freq: ['lat', 'lon', 'tst'].includes(k) ? 12 : 2 }).map((x) => (x === null ? '' : `${JSON.stringify(k)}:${x}`)))),
).map(([type, parts]) => `{"_type":${type}${parts.filter(Boolean).map((p) => `,${p}`).join('')}}`)

test('the location fast path decides every payload as the schema does (accepted, stored, normalised, refused)', () => {
  let accepted = 0
  fc.assert(fc.property(payload, (text) => {
    const fast = decodePayload(text)
    assert.deepEqual(fast, decodePayloadBySchema(text), text)
    if (fast.ok) accepted++
  }), { numRuns: 20_000 })
  // Both branches must have been exercised for the comparison to mean anything.
  assert.ok(accepted > 1_000 && accepted < 19_000, `accepted ${accepted} of 20000`)
})

test('what the apps publish, and its edge cases, decode the same on both paths', () => {
  const cases = [
    '{"_type":"location","tid":"bp","lat":52.5163,"lon":13.3777,"alt":38,"acc":9,"vac":3,"batt":77,"bs":1,"conn":"m","tst":1700000000}',
    '{"_type":"location","lat":90,"lon":-180,"tst":0}',
    '{"_type":"location","lat":90.0000001,"lon":0,"tst":1}',
    '{"_type":"location","lat":1,"lon":1,"tst":1e400}',
    '{"_type":"location","lat":1,"lon":1,"tst":1700000000,"acc":null}',
    '{"_type":"location","lat":1,"lon":1,"tst":1700000000,"inregions":["a",2]}',
    '{"_type":"location","lat":"1.5","lon":"2","tst":"1700000000123"}',
    `{"_type":"location","lat":1,"lon":1,"tst":${NOW + 2 * DAY}}`,
    '{"_type":"location","lat":1,"lon":1}',
    '{"_type":"location","__proto__":{"lat":1},"lon":1,"tst":1}',
  ]
  for (const text of cases) assert.deepEqual(decodePayload(text), decodePayloadBySchema(text), text)
})
