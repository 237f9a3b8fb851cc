import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { MqttClient } from 'mqtt'
import { FIELDS } from '../../src/access/view-fields.js'
import { phone } from '../helpers/phone.js'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { LiveFeed, seen, strip, type Msg } from '../helpers/channels.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

/*
 * The generated half of the channel comparison (view-channels.test.ts has the table): random shares
 * from jane to fred and random messages from jane's phone. Whatever fred gets over MQTT, /ws/last
 * pushes the same, /api/0/last and HTTP mode's answer show the same newest location and card; under a
 * grid he never gets the exact coordinates in any spelling, nor a field the field table does not keep.
 */

const DEVICE = 'owntracks/jane/phone'
const PUSHED = new Set(['location', 'transition', 'waypoint', 'beacon'])

const precision = fc.constantFrom(null, '500m', '1km', '10km', 'geohash 5', 'geohash 3')
const history = fc.constantFrom('true', 'false', '7d')
const include = fc.subarray(['location', 'events', 'card'], { minLength: 1 })
const coord = (max: number) => fc.double({ min: -max, max, noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x * 1e6) / 1e6)
const spelt = (x: number) => fc.constantFrom(x, String(x))
const extras = fc.record({
  SSID: fc.string(), BSSID: fc.string(), inregions: fc.array(fc.string(), { maxLength: 2 }), addr: fc.string(),
  image: fc.base64String({ maxLength: 12 }), imagename: fc.string(), tag: fc.string(), newField: fc.jsonValue(), batt: fc.integer({ min: 0, max: 100 }),
}, { requiredKeys: [] })

/** A message as [subtopic, payload-object-or-text]; the location's `tst` is filled in when published. */
const message = fc.oneof(
  fc.tuple(coord(89), coord(179), extras).chain(([lat, lon, x]) => fc.tuple(spelt(lat), spelt(lon)).map(([a, b]) => ['', { _type: 'location', lat: a, lon: b, acc: 10, tid: 'jp', ...x }] as const)),
  fc.record({ name: fc.string(), face: fc.base64String({ maxLength: 12 }) }).map((c) => ['/info', { _type: 'card', ...c }] as const),
  fc.tuple(coord(89), coord(179), fc.string()).map(([lat, lon, desc]) => ['/event', { _type: 'transition', event: 'leave', lat, lon, desc, acc: 5, wtst: 1 }] as const),
  fc.constant(['', { _type: 'lwt' }] as const),
  fc.constant(['', { _type: 'encrypted', data: 'c2VjcmV0' }] as const),
  fc.string().map((s) => ['', `not json ${s}`] as const),
  fc.tuple(coord(89), coord(179)).map(([lat, lon]) => ['/waypoint', { _type: 'waypoint', desc: 'x', lat, lon, rad: 5 }] as const),
)

describe('one view per viewer, generated: random shares and messages', () => {
  let hub: RunningHub
  let jane: MqttClient
  let tst = Math.floor(Date.now() / 1000) - 7200

  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred')
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
  })
  after(async () => {
    await jane?.endAsync()
    await hub?.stop()
  })

  test('fred gets the same of jane on MQTT, /ws/last, /api/0/last and /pub', async () => {
    let run = 0
    await fc.assert(fc.asyncProperty(include, precision, history, fc.array(message, { minLength: 1, maxLength: 6 }), async (inc, prec, hist, msgs) => {
      // The rules language refuses events under a precision (a transition names the place).
      if (prec) inc = inc.filter((p) => p !== 'events').concat(inc.length === 1 && inc[0] === 'events' ? ['location'] : [])
      const yaml = `# run ${++run}\nshares:\n  - from: jane\n    to: [fred]\n    include: [${inc.join(', ')}]\n${prec ? `    precision: ${prec}\n` : ''}    history: ${hist}\n`
      assert.match(await writeRules(hub, yaml), /Reloaded access rules/)
      const fred = await Receiver.connect(hub, 'fred', { clientId: `fred-gen-${run}` })
      await fred.subscribe('owntracks/#')
      fred.clear()
      const feed = await LiveFeed.open(hub, 'fred')
      try {
        const exact: number[] = []
        for (const [sub, body] of msgs) {
          tst += 1
          const obj = typeof body === 'string' ? body : { ...body, tst }
          if (typeof obj !== 'string' && obj._type === 'location') exact.push(Number(obj.lat), Number(obj.lon))
          await jane.publishAsync(DEVICE + sub, typeof obj === 'string' ? obj : JSON.stringify(obj), { qos: 1, retain: sub === '' || sub === '/info' })
        }
        await fred.settle()
        await feed.settle()
        const got = seen(fred.messages(), DEVICE)

        if (prec) {
          for (const s of got) {
            assert.equal(typeof s.m, 'object', `fred gets no opaque payload under ${prec}`)
            const m = s.m as Msg
            for (const k of Object.keys(m)) assert.ok(Object.hasOwn(FIELDS, k) && !['place', 'media'].includes(FIELDS[k]), `${k} passed a ${prec} share`)
            if (m._type === 'location') for (const x of exact) assert.ok(m.lat !== x && m.lon !== x || x === 0, `exact coordinate ${x} passed a ${prec} share`)
          }
        }

        const pushed = feed.of('jane').filter((m) => m.device === 'phone')
        assert.deepEqual(pushed.map((m) => [m.topic, strip(m)]), got.filter((s) => typeof s.m === 'object' && PUSHED.has(String(s.m._type))).map((s) => [s.topic, s.m]), '/ws/last = MQTT')

        const as = { user: 'fred', password: pw('fred') }
        const locs = got.filter((s) => s.topic === DEVICE && typeof s.m === 'object' && s.m._type === 'location').map((s) => s.m as Msg)
        const card = got.filter((s) => typeof s.m === 'object' && s.m._type === 'card').map((s) => s.m as Msg).at(-1)
        const last = (await (await hub.http('/api/0/last?user=jane', as)).json()) as Msg[]
        const newest = locs.at(-1)
        // A location published in this run is the newest; before that, /last may show an older one.
        if (newest) {
          assert.deepEqual(last.map((m) => strip(m)), [newest], '/api/0/last = MQTT')
          if (card) assert.equal(last[0].name, card.name)
          const res = await hub.http('/pub', { ...as, method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'fred', 'x-limit-d': 'http' }, body: JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst, tid: 'fh' }) })
          const friends = ((await res.json()) as Msg[]).filter((m) => m.topic === DEVICE && m._type === 'location')
          assert.deepEqual(friends.map((m) => strip(m)), [newest], '/pub = MQTT')
        }
        if (!inc.includes('card')) assert.ok(last.every((m) => m.name === undefined && m.face === undefined), 'no card without include: card')
      } finally {
        await fred.end()
        feed.close()
      }
    }), { numRuns: 15, reporter: (d) => { if (d.failed) throw new Error(`${fc.defaultReportMessage(d)}\n${String(d.errorInstance)}`) }, seed: Number(process.env.OTHUB_FC_SEED ?? Date.now() % 2 ** 31), verbose: 1 })
  })
})
