import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { mosquittoPub } from '../helpers/mosquitto.js'
import { addUsers } from '../helpers/users.js'

describe('without a rule, jane reads nothing of fred (MQTT and HTTP)', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred')
  })
  after(async () => { await hub?.stop() })

  test("jane subscribed to owntracks/# gets her own location and neither fred's retained nor live ones", async () => {
    const fred = await phone(hub.mqttPort, 'fred', 'fred-pw')
    await fred.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr' })), { qos: 1, retain: true })
    const jane = await Receiver.connect(hub, 'jane')
    await jane.subscribe('owntracks/#')
    await fred.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 1 })), { qos: 1, retain: true })
    await fred.publishAsync('owntracks/fred/phone/event', JSON.stringify({ _type: 'transition', event: 'enter', tst: 1, lat: 1, lon: 1 }), { qos: 1 })
    const janePhone = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await janePhone.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja' })), { qos: 1, retain: true })
    await jane.settle()
    assert.deepEqual(jane.topics(), ['owntracks/jane/phone'])
    await Promise.all([fred.endAsync(), jane.end(), janePhone.endAsync()])
  })

  test('jane publishing into fred\'s topic is dropped like Mosquitto 2: acknowledged, connection kept, not delivered, not retained, not stored', async () => {
    const admin = await Receiver.connect(hub, 'admin')
    await admin.subscribe('owntracks/#')
    admin.clear()
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    const forged = JSON.stringify(location({ tid: 'xx', lat: 10, lon: 10, tst: 1700000000 }))
    await jane.publishAsync('owntracks/fred/phone', forged, { qos: 1, retain: true }) // resolves on PUBACK
    assert.equal(jane.connected, true, 'connection kept')
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja' })), { qos: 1 })
    await admin.settle()
    assert.deepEqual(admin.topics(), ['owntracks/jane/phone'], 'the forged message reached nobody')
    assert.match(hub.logs(), /Denied PUBLISH from janephone \(d0, q1, r1, m\d+, 'owntracks\/fred\/phone', \.\.\. \(\d+ bytes\)\)/)
    assert.doesNotMatch(hub.logs(), /"lat":10/, 'payloads are never logged')
    // fred's retained location is still his own
    const late = await Receiver.connect(hub, 'admin')
    await late.subscribe('owntracks/fred/phone')
    const retained = late.messages()
    assert.equal(retained.length, 1)
    assert.notEqual(retained[0].payload, forged)
    const hist = await (await hub.http('/api/0/locations?user=fred&device=phone&from=2023-01-01')).json() as { data: { tst: number }[] }
    assert.ok(hist.data.every((l) => l.tst !== 1700000000), 'the forged location is not in fred\'s history')
    await Promise.all([admin.end(), jane.endAsync(), late.end()])
  })

  test("the Recorder API shows jane only jane: list, last, locations", async () => {
    const as = { user: 'jane', password: 'jane-pw' }
    const list = await (await hub.http('/api/0/list', as)).json() as { results: string[] }
    assert.deepEqual(list.results, ['jane'])
    const last = await (await hub.http('/api/0/last', as)).json() as { username: string }[]
    assert.deepEqual([...new Set(last.map((l) => l.username))], ['jane'])
    const devs = await (await hub.http('/api/0/list?user=fred', as)).json() as { results: string[] }
    assert.deepEqual(devs.results, [])
    const res = await hub.http('/api/0/locations?user=fred&device=phone&limit=5', as)
    assert.equal(res.status, 403)
    const adminList = await (await hub.http('/api/0/list')).json() as { results: string[] }
    assert.deepEqual(adminList.results, ['fred', 'jane'], 'an admin sees everyone')
  })

  test('HTTP without or with wrong credentials: 401 with WWW-Authenticate', async () => {
    const none = await hub.http('/api/0/last', { user: '' })
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm=/)
    const wrong = await hub.http('/api/0/last', { user: 'jane', password: 'nope' })
    assert.equal(wrong.status, 401)
    const health = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)
    assert.equal(health.status, 200)
  })

  test('nobody but the broker publishes to $SYS, not even an admin', async () => {
    const r = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', hub.adminPassword, '-t', '$SYS/broker/version', '-m', 'fake'])
    assert.equal(r.code, 0)
    await hub.waitForLog(/Denied PUBLISH from \S+ \(d0, q0, r0, m0, '\$SYS\/broker\/version'/)
  })
})
