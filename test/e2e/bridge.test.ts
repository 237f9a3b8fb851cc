import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { startPlainMosquitto, type Mosquitto } from '../helpers/mosquitto-broker.js'
import { mosquittoPub, mosquittoSub, type Sub } from '../helpers/mosquitto.js'
import { client, collect, location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'


describe("a bridge to a friend's Mosquitto: messages both ways, no loops, survives a Mosquitto restart", () => {
  let friend: Mosquitto
  let hub: RunningHub
  let watcher: MqttClient
  let seen: ReturnType<typeof collect>
  let remote: Sub
  before(async () => {
    friend = await startPlainMosquitto()
    const root = tempDir()
    const dataDir = join(root, 'data')
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, 'bridges.conf'), [
      '# our family and the friend share owntracks/; the friend\'s status board comes in under bridged/',
      'connection friend',
      `address 127.0.0.1:${friend.port}`,
      'remote_clientid hub-test',
      'topic owntracks/# both 1',
      'topic status/# in 0 bridged/ ""',
      'cleansession false',
      'restart_timeout 1 2',
      'start_type automatic',
      '',
    ].join('\n'))
    hub = await startHub({ dataDir, aclDir: join(root, 'acl') })
    await addUsers(hub, 'jane')
    await hub.waitForLog(/Bridge friend connected to 127\.0\.0\.1:\d+\./)
    watcher = await client(hub.mqttPort, 'admin', hub.adminPassword)
    seen = collect(watcher)
    await watcher.subscribeAsync(['owntracks/#', 'bridged/#', '$SYS/broker/connection/#'], { qos: 1 })
    remote = await mosquittoSub(['-p', String(friend.port), '-v', '-t', 'owntracks/#'])
  })
  let markers = 0
  /**
   * Sends a marker across the bridge each way and waits for both: the bridge is one MQTT connection each
   * way and the hub delivers in the order it accepted publishes, so whatever crossed the bridge before the
   * markers (an echo, a duplicate) has arrived once they have. `at` are the friend's subscribers to wait on
   * (subscribed to owntracks/marker/#).
   */
  const settle = async (at: Sub[] = [remote]) => {
    const id = String(++markers)
    assert.equal((await mosquittoPub(['-p', String(friend.port), '-q', '1', '-t', 'owntracks/marker/in', '-m', id])).code, 0)
    await waitFor('the marker from the friend', () => seen.some((m) => m.topic === 'owntracks/marker/in' && m.payload === id))
    await watcher.publishAsync('owntracks/marker/out', id, { qos: 1 })
    await waitFor('the marker at the friend', () => at.every((s) => s.lines.includes(`owntracks/marker/out ${id}`)))
  }
  after(async () => {
    await watcher?.endAsync()
    await remote?.stop()
    await hub?.stop()
    await friend?.stop()
  })

  test('the hub announces itself as a bridge (MQTT 3.1.1 + bridge bit) and reports the state on $SYS', async () => {
    assert.match(friend.logs(), /New bridge connected from 127\.0\.0\.1:\d+ as hub-test \(p2, c0, k60\)/)
    await waitFor('state 1', () => seen.some((m) => m.topic === '$SYS/broker/connection/hub-test/state' && m.payload === '1'))
    assert.match(hub.logs(), /start_type: a Mosquitto option without effect here; ignored/)
  })

  test("the friend's location comes in once, is stored, and is not sent back", async () => {
    const payload = JSON.stringify(location({ tid: 'fr', lat: 45.4642, lon: 9.19, tst: 1732456789 }))
    const r = await mosquittoPub(['-p', String(friend.port), '-q', '1', '-r', '-t', 'owntracks/friend/phone', '-m', payload])
    assert.equal(r.code, 0, r.stderr)
    await waitFor('the location at the hub', () => seen.some((m) => m.topic === 'owntracks/friend/phone'))
    await settle()
    assert.equal(seen.filter((m) => m.topic === 'owntracks/friend/phone').length, 1)
    assert.equal(remote.lines.filter((l) => l.startsWith('owntracks/friend/phone')).length, 1, 'the friend saw it once: the hub did not echo it')
    const last = await (await hub.http('/api/0/last?user=friend')).json() as { lat: number }[]
    assert.equal(last[0].lat, 45.4642)
  })

  test("jane's location goes out once, and does not come back as a duplicate", async () => {
    const p = await phone(hub.mqttPort, 'jane', 'jane-pw')
    const payload = JSON.stringify(location({ tid: 'ja' }))
    await p.publishAsync('owntracks/jane/phone', payload, { qos: 1 })
    await p.endAsync()
    await waitFor('at the friend', () => remote.lines.includes(`owntracks/jane/phone ${payload}`))
    await settle()
    assert.equal(remote.lines.filter((l) => l.startsWith('owntracks/jane/phone')).length, 1)
    assert.equal(seen.filter((m) => m.topic === 'owntracks/jane/phone').length, 1)
  })

  test('prefixes map topics: the friend\'s status/door arrives here as bridged/status/door, and nothing goes back', async () => {
    assert.equal((await mosquittoPub(['-p', String(friend.port), '-t', 'status/door', '-m', 'open'])).code, 0)
    await waitFor('bridged/status/door', () => seen.some((m) => m.topic === 'bridged/status/door' && m.payload === 'open'))
    const back = await mosquittoSub(['-p', String(friend.port), '-v', '-t', 'bridged/#', '-t', 'owntracks/marker/#'])
    await watcher.publishAsync('bridged/status/door', 'closed', { qos: 1 }) // `in` only: stays here
    await settle([back])
    assert.deepEqual(back.lines.filter((l) => l.startsWith('bridged/')), [])
    await back.stop()
  })

  test('Mosquitto restarts: the bridge says it lost the connection, reconnects by itself, and carries on both ways; what was sent meanwhile arrives', async () => {
    const since = hub.logs().length
    await friend.stop()
    await hub.waitForLog(/Bridge friend lost its connection; reconnecting\./, 10_000, since)
    await waitFor('state 0', () => seen.some((m) => m.topic === '$SYS/broker/connection/hub-test/state' && m.payload === '0'))
    const p = await phone(hub.mqttPort, 'jane', 'jane-pw')
    const meanwhile = JSON.stringify(location({ tid: 'ja', lat: 3 }))
    await p.publishAsync('owntracks/jane/phone', meanwhile, { qos: 1, retain: true })
    await remote.stop()
    await friend.restart()
    await hub.waitForLog(/Bridge friend connected to 127\.0\.0\.1:\d+\./, 15_000, since)
    remote = await mosquittoSub(['-p', String(friend.port), '-v', '-t', 'owntracks/jane/#'])
    await waitFor('the message from while it was down', () => remote.lines.includes(`owntracks/jane/phone ${meanwhile}`), 5000)
    const after = JSON.stringify(location({ tid: 'ja', lat: 4 }))
    await p.publishAsync('owntracks/jane/phone', after, { qos: 1 })
    await waitFor('hub → friend after the restart', () => remote.lines.includes(`owntracks/jane/phone ${after}`))
    await p.endAsync()
    assert.equal((await mosquittoPub(['-p', String(friend.port), '-q', '1', '-t', 'owntracks/friend/phone', '-m', JSON.stringify(location({ tid: 'fr', lat: 5 }))])).code, 0)
    await waitFor('friend → hub after the restart', () => seen.some((m) => m.topic === 'owntracks/friend/phone' && (JSON.parse(m.payload) as { lat: number }).lat === 5))
    assert.equal(seen.filter((m) => m.topic === '$SYS/broker/connection/hub-test/state').at(-1)?.payload, '1')
  })
})

describe('a bridge file with a mistake', () => {
  let hub: RunningHub
  before(async () => {
    const root = tempDir()
    const dataDir = join(root, 'data')
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, 'bridges.conf'), 'connection friend\nadress 127.0.0.1:1883\ntopic owntracks/# both 1\n')
    hub = await startHub({ dataDir, aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop() })

  test('is reported with its line and what is known; the hub serves anyway', async () => {
    await hub.waitForLog(/bridges\.conf line 2: unknown bridge option 'adress' \(known: connection, address, /)
    assert.equal((await hub.http('/api/0/version')).status, 200)
  })
})
