import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

type Msg = Record<string, unknown>

/**
 * Home Assistant uses the hub as its broker as user `homeassistant`: its MQTT and OwnTracks integrations
 * subscribe to owntracks/#, and with --homeassistant-user the hub also publishes MQTT discovery for the
 * people that user may see.
 */
describe('Home Assistant: the homeassistant user sees lisa (shared with it) and not bob, on owntracks/# and in discovery', () => {
  let hub: RunningHub
  let ha: Receiver
  let bobWatch: Receiver
  let lisa: MqttClient
  let bob: MqttClient
  const now = Math.floor(Date.now() / 1000)

  before(async () => {
    hub = await startHub({ args: ['--homeassistant-user', 'homeassistant'] })
    await addUsers(hub, 'homeassistant', 'lisa', 'bob')
    await writeRules(hub, 'shares:\n  - from: lisa\n    to: homeassistant\n')
    const since = hub.logs().length
    writeFileSync(join(hub.aclDir, 'places.yml'), 'places:\n  - name: home\n    owner: lisa\n    lat: 52.52\n    lon: 13.405\n    radius: 100m\n  - name: school\n    owner: lisa\n    lat: 52.53\n    lon: 13.405\n    radius: 100m\n')
    await hub.waitForLog(/Reloaded places/, 5000, since)
    ha = await Receiver.connect(hub, 'homeassistant')
    await ha.subscribe('homeassistant/#', 'owntracks/#')
    bobWatch = await Receiver.connect(hub, 'bob')
    await bobWatch.subscribe('homeassistant/#')
    lisa = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    bob = await phone(hub.mqttPort, 'bob', pw('bob'))
  })

  after(async () => {
    await lisa?.endAsync()
    await bob?.endAsync()
    await ha?.end()
    await bobWatch?.end()
    await hub?.stop()
  })

  test('lisa at home: owntracks/lisa/phone, her hub transition, and discovery config, state "home" and attributes', async () => {
    await lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', lat: 52.5201, lon: 13.405, acc: 10, tst: now }), { qos: 1 })
    await waitFor('state home', async () => { await ha.settle(); return ha.messages().some((m) => m.topic === 'homeassistant/device_tracker/lisa_phone/state' && m.payload === 'home') })
    const by = (t: string) => ha.messages().filter((m) => m.topic === t)
    const config = JSON.parse(by('homeassistant/device_tracker/lisa_phone/config')[0].payload) as Msg
    assert.equal(config.state_topic, 'homeassistant/device_tracker/lisa_phone/state')
    assert.equal(config.json_attributes_topic, 'homeassistant/device_tracker/lisa_phone/attributes')
    assert.equal(config.unique_id, 'owntracks_hub_lisa_phone')
    assert.equal(config.source_type, 'gps')
    const attrs = JSON.parse(by('homeassistant/device_tracker/lisa_phone/attributes').at(-1)!.payload) as Msg
    assert.deepEqual([attrs.latitude, attrs.longitude, attrs.gps_accuracy, attrs.place], [52.5201, 13.405, 10, 'home'])
    assert.equal(by('owntracks/lisa/phone').length, 1)
    assert.deepEqual(by('owntracks/lisa/phone/event').map((m) => (JSON.parse(m.payload) as Msg).event), ['enter'])
  })

  test('lisa moves to school: the state names the zone "school"; away it is "not_home"', async () => {
    await lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', lat: 52.53, lon: 13.405, acc: 10, tst: now + 60 }), { qos: 1 })
    await waitFor('state school', async () => { await ha.settle(); return ha.messages().some((m) => m.topic.endsWith('lisa_phone/state') && m.payload === 'school') })
    await lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', lat: 52.6, lon: 13.405, acc: 10, tst: now + 120 }), { qos: 1 })
    await waitFor('state not_home', async () => { await ha.settle(); return ha.messages().filter((m) => m.topic.endsWith('lisa_phone/state')).at(-1)?.payload === 'not_home' })
  })

  test('bob is not shared with homeassistant: nothing of his reaches it, and bob cannot read the discovery topics', async () => {
    await bob.publishAsync('owntracks/bob/phone', JSON.stringify({ _type: 'location', tid: 'bo', lat: 52.5201, lon: 13.405, acc: 10, tst: now }), { qos: 1 })
    await ha.settle()
    await bobWatch.settle()
    assert.deepEqual(ha.messages().filter((m) => m.topic.includes('bob')), [])
    assert.deepEqual(bobWatch.messages(), [])
  })

  test('a new Home Assistant connection gets the retained discovery messages at once', async () => {
    const again = await Receiver.connect(hub, 'homeassistant')
    await again.subscribe('homeassistant/device_tracker/#')
    assert.deepEqual(again.messages().map((m) => [m.topic, m.retain]).sort(), [
      ['homeassistant/device_tracker/lisa_phone/attributes', true],
      ['homeassistant/device_tracker/lisa_phone/config', true],
      ['homeassistant/device_tracker/lisa_phone/state', true],
    ])
    await again.end()
  })

  test('the share ends: the discovery config is cleared, so Home Assistant removes the entity', async () => {
    await writeRules(hub, 'shares: []\n')
    await waitFor('config cleared', async () => { await ha.settle(); return ha.messages().some((m) => m.topic === 'homeassistant/device_tracker/lisa_phone/config' && m.payload === '') })
    await hub.waitForLog(/Home Assistant discovery: lisa\/phone removed/)
  })
})
