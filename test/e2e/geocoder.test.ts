import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { fakeNominatim, type FakeNominatim } from '../helpers/fake-nominatim.js'
import { location, phone } from '../helpers/phone.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

type Last = Record<string, unknown>[]

// Utrecht: three places more than 150 m apart, and a second fix 20 m from the first.
const A = { lat: 52.0907, lon: 5.1214 }
const A2 = { lat: 52.09085, lon: 5.12145 }
const B = { lat: 52.0989, lon: 5.1305 }
const C = { lat: 52.0850, lon: 5.1990 }
const D = { lat: 52.0870, lon: 5.1120 }

describe('street addresses from the operator\'s Nominatim: asked once per place, at 1 request/s, never in the way', () => {
  let hub: RunningHub
  let nominatim: FakeNominatim
  const last = async (user = 'admin') => (await (await hub.http('/api/0/last?user=jane', { user, password: user === 'admin' ? undefined : pw(user) })).json()) as Last

  before(async () => {
    nominatim = await fakeNominatim()
    hub = await startHub({ args: ['--geocoder', `nominatim:${nominatim.url}`] })
    await addUsers(hub, 'jane', 'fred')
    await writeRules(hub, 'shares:\n  - {from: jane, to: [fred], devices: [phone], precision: 1km}\n')
  })
  after(async () => { await hub?.stop(); await nominatim?.close() })

  test('the PUBACK does not wait for the geocoder; the address arrives afterwards in /api/0/last', async () => {
    nominatim.hold()
    const jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...A, tst: 1_764_000_000 })), { qos: 1 }) // resolves on PUBACK
    await nominatim.waitForRequests(1)
    // acknowledged and stored while the geocoder still holds its answer: country, zone and town are offline
    const before = (await last())[0]
    assert.equal(before.cc, 'NL')
    assert.equal(before.tzname, 'Europe/Amsterdam')
    assert.equal(before.addr, undefined)
    // the towns load on the first read, in the background
    assert.equal(await waitFor('the town', async () => (await last())[0].locality, 30_000), 'Utrecht')
    assert.equal((await last())[0].addr, undefined)
    nominatim.release()
    const withAddr = await waitFor('an address', async () => (await last())[0].addr)
    assert.match(String(withAddr), /Fake Street, Testtown/)
    // the geocoder was told the 150 m cell's centre, not the fix
    assert.notEqual(nominatim.asked[0].lat, A.lat)
    assert.ok(Math.abs(nominatim.asked[0].lat - A.lat) < 0.001)
    await jane.endAsync()
  })

  test('a second fix in the same 150 m cell asks nothing: cache hit, no request', async () => {
    const jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    const n = nominatim.asked.length
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...A2, tst: 1_764_000_100 })), { qos: 1 })
    // a marker: a new place, asked only after the same-cell fix was handled
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...B, tst: 1_764_000_200 })), { qos: 1 })
    await nominatim.waitForRequests(n + 1)
    assert.equal(nominatim.asked.length, n + 1)
    assert.ok(Math.abs(nominatim.asked[n].lat - B.lat) < 0.001, 'the only new request is for the new place')
    await jane.endAsync()
  })

  test('new places are asked one per second at most', async () => {
    const jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    const n = nominatim.asked.length
    for (const [i, p] of [C, D].entries()) await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...p, tst: 1_764_000_300 + i })), { qos: 1 })
    await nominatim.waitForRequests(n + 2)
    const gaps = nominatim.asked.slice(n - 1).map((x, i, all) => (i === 0 ? Infinity : x.at - all[i - 1].at)).slice(1)
    for (const g of gaps) assert.ok(g >= 950, `requests ${g} ms apart`)
    await jane.endAsync()
  })

  test('a 1 km share gets the town and country, never the street', async () => {
    await waitFor('D cached', async () => (await last())[0].addr)
    const fred = (await last('fred'))[0]
    assert.equal(fred.addr, undefined)
    assert.equal(fred.cc, 'NL')
    assert.equal(typeof fred.locality, 'string')
    const q = await (await hub.http(`/api/0/q?lat=${D.lat}&lon=${D.lon}`, { user: 'fred', password: pw('fred') })).json() as Record<string, unknown>
    assert.equal(q.addr, undefined, '/q gives a non-admin no cached address')
    assert.equal(q.cc, 'NL')
  })

  test('the cache survives a restart, and backfill asks only for places not yet cached', async () => {
    hub = await hub.restart()
    const n = nominatim.asked.length
    const r = await runCli(['geocode', 'backfill', '--data', hub.dataDir])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /0 new places queued/)
    assert.equal(nominatim.asked.length, n)
  })
})
