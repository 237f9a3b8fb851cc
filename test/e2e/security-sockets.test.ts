import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { closedCount, openSockets } from '../helpers/flood.js'
import { location } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

const run = promisify(execFile)
const metric = async (hub: RunningHub, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await hub.http('/metrics')).text())?.[1] ?? NaN)

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
