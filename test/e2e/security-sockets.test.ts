import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import mqtt from 'mqtt'
import { promisify } from 'node:util'
import { metric, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { closedCount, openSockets } from '../helpers/flood.js'
import { location } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

const run = promisify(execFile)

describe('an anonymous flood: the connections a peer without credentials can make the hub hold', () => {
  let hub: RunningHub
  before(async () => {
    // A small max-connections, so a flood within the test's file-descriptor budget would fill it.
    hub = await startHub({ args: ['--max-connections', '600'] })
    await addUsers(hub, 'jane')
  })
  after(async () => { await hub?.stop() })

  test('1,000 idle TCP sockets from one address: at most 256 are held, a legitimate mosquitto_pub and HTTP request from elsewhere succeed, and the held ones are closed after 10 s', async () => {
    const socks = await openSockets(hub.mqttPort, 1000)
    const http = await openSockets(hub.httpPort, 1000)
    await waitFor('the flood shed', async () => (await metric(hub, 'othub_mqtt_pending_refused_total')) > 0 && (await metric(hub, 'othub_http_connections_refused_total')) > 0, 60_000)
    const held = await metric(hub, 'othub_mqtt_connections')
    assert.ok(held <= 256, `${held} MQTT connections held`)
    const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', 'jane', '-P', 'jane-pw', '-i', 'legit', '-q', '1', '-t', 'owntracks/jane/phone', '-m', JSON.stringify(location())], { timeout: 15_000 })
    assert.equal(pub.stderr, '')
    assert.equal((await hub.http('/api/0/last?user=jane')).status, 200, 'HTTP from another address is served')
    await hub.waitForLog(/Refused \d+ connection\(s\) before login, the last from 127\.0\.0\.2: 256 from there have not logged in yet, the max-pending-per-address limit/)
    await hub.waitForLog(/Refused HTTP connections from 127\.0\.0\.2: 256 from there are open, the max-http-per-address limit/)
    await waitFor('the idle MQTT sockets closed by the hub', () => closedCount(socks) === socks.length, 60_000)
    await waitFor('the idle HTTP sockets closed by the hub (headers timeout)', () => closedCount(http) === http.length, 60_000)
    for (const s of [...socks, ...http]) s.destroy()
  })
})

describe('connections that have logged in no longer count as waiting for their login', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--max-pending-per-address', '3', '--auth-rate-address', '0'] })
    await addUsers(hub, 'jane')
  })
  after(async () => { await hub?.stop() })

  test('with max-pending-per-address 3, eight phones from one address stay connected, over TCP and over WebSocket', async () => {
    const opts = { username: 'jane', password: 'jane-pw', reconnectPeriod: 0, connectTimeout: 5000 }
    const clients: mqtt.MqttClient[] = []
    for (let i = 0; i < 8; i++) clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { ...opts, clientId: `jane-tcp${i}` }))
    for (let i = 0; i < 8; i++) clients.push(await mqtt.connectAsync(`ws://127.0.0.1:${hub.httpPort}/mqtt`, { ...opts, clientId: `jane-ws${i}` }))
    assert.equal(await metric(hub, 'othub_mqtt_connections'), 16)
    assert.equal(await metric(hub, 'othub_mqtt_pending_refused_total'), 0)
    // and a closed one gives its place back: the count follows
    await clients.pop()!.endAsync()
    await waitFor('the closed connection uncounted', async () => (await metric(hub, 'othub_mqtt_connections')) === 15)
    await Promise.all(clients.map((c) => c.endAsync()))
  })
})
