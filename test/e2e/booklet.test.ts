import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js'

// The booklet's "Testing" section, run against the hub with Debian's mosquitto clients.
describe('mosquitto_sub / mosquitto_pub as the OwnTracks booklet shows them', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub() })
  after(async () => { await hub?.stop() })

  test('first start creates admin, prints the password once with a ready mosquitto_sub line', () => {
    assert.ok(hub.adminPassword.length >= 16, 'initial-admin-password holds a random password')
    assert.match(hub.logs(), new RegExp(`created user 'admin' with password '${hub.adminPassword}'`))
    assert.match(hub.logs(), new RegExp(`mosquitto_sub -h 127\\.0\\.0\\.1 -p ${hub.mqttPort} -u admin -P '${hub.adminPassword}' -v -t 'owntracks/#'`))
  })

  test("admin's mosquitto_sub on owntracks/# prints 'owntracks/test hello world'", async () => {
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', hub.adminPassword, '-v', '-t', 'owntracks/#'])
    try {
      const pub = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', hub.adminPassword, '-t', 'owntracks/test', '-m', 'hello world'])
      assert.equal(pub.code, 0, pub.stderr)
      const lines = await sub.waitForLines(1)
      assert.deepEqual(lines, ['owntracks/test hello world'])
    } finally { await sub.stop() }
  })

  test('a user added while the hub runs publishes a retained QoS 1 location that the Recorder API returns', async () => {
    const add = await runCli(['user', 'add', 'jane', '--password', 'pw', '--data', hub.dataDir])
    assert.equal(add.code, 0, add.stderr)
    const payload = JSON.stringify({ _type: 'location', tid: 'jp', lat: 51.5007, lon: -0.1246, tst: 1732456789, acc: 10, batt: 77 })
    // The hub picks the new password file up within 2 s; retry until it does.
    await waitFor('jane to be accepted', async () => (await mosquittoPub(['-p', String(hub.mqttPort), '-q', '1', '-r', '-u', 'jane', '-P', 'pw', '-t', 'owntracks/jane/phone', '-m', payload])).code === 0, 2500)

    const res = await hub.http('/api/0/locations?user=jane&device=phone&limit=1', { user: 'jane', password: 'pw' })
    assert.equal(res.status, 200)
    const body = await res.json() as { count: number; data: Record<string, unknown>[] }
    assert.equal(body.count, 1)
    assert.equal(body.data[0].lat, 51.5007)
    assert.equal(body.data[0].tst, 1732456789)
    assert.equal(body.data[0].isotst, '2024-11-24T13:59:49Z')

    const last = await (await hub.http('/api/0/last', { user: 'jane', password: 'pw' })).json() as Record<string, unknown>[]
    assert.equal(last.length, 1)
    assert.equal(last[0].username, 'jane')
    assert.equal(last[0].device, 'phone')
    assert.equal(last[0].topic, 'owntracks/jane/phone')
    assert.equal(last[0].isotst, '2024-11-24T13:59:49Z')
    assert.equal(last[0].disptst, '2024-11-24 13:59:49')
    assert.equal(last[0].ghash, 'gcpuvpm')
    assert.equal(last[0].batt, 77)

    // the retained location reaches a later subscriber
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'jane', '-P', 'pw', '-v', '-t', 'owntracks/jane/#'])
    try {
      assert.deepEqual(await sub.waitForLines(1), [`owntracks/jane/phone ${payload}`])
    } finally { await sub.stop() }
  })

  test('a wrong password makes mosquitto_pub exit 5 and is logged', async () => {
    const pub = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', 'wrong', '-t', 'owntracks/test', '-m', 'x'])
    assert.equal(pub.code, 5)
    assert.match(pub.stderr, /not authori[sz]ed/i)
    assert.match(hub.logs(), /disconnected, not authorised \(wrong username or password for 'admin'\)/)
  })

  test('no credentials: refused, because anonymous access is off by default', async () => {
    const pub = await mosquittoPub(['-p', String(hub.mqttPort), '-t', 'owntracks/test', '-m', 'x'])
    assert.equal(pub.code, 5)
  })
})
