import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { MqttClient } from 'mqtt'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, collect, location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'
import { wire } from '../helpers/wire.js'


describe('$SYS and /metrics', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub({ args: ['--sys-interval', '1'] }); await addUsers(hub, 'jane') })
  after(async () => { await hub?.stop() })

  test("an admin subscribed to $SYS/# gets Mosquitto's $SYS/broker tree, and nothing of aedes' own $SYS topics", async () => {
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(admin)
    await admin.subscribeAsync('$SYS/#', { qos: 0 })
    // the retained tree arrives after the SUBACK, read from the database: wait for each topic
    const want = ['version', 'uptime', 'clients/total', 'messages/received', 'messages/sent', 'subscriptions/count', 'retained messages/count', 'load/messages/received/1min']
    await waitFor('the $SYS/broker tree', () => want.every((t) => got.some((m) => m.topic === `$SYS/broker/${t}`)), 5000)
      .catch(() => assert.fail(`missing in ${[...new Set(got.map((m) => m.topic))].join(', ')}: ${want.filter((t) => !got.some((m) => m.topic === `$SYS/broker/${t}`)).join(', ')}`))
    assert.match(got.find((m) => m.topic === '$SYS/broker/version')!.payload, /^owntracks-hub \d/)
    // a new client connecting makes aedes publish $SYS/<its id>/new/clients: it must not show
    const other = await client(hub.mqttPort, 'jane', 'jane-pw')
    await waitFor('clients/connected to count 2', () => got.some((m) => m.topic === '$SYS/broker/clients/connected' && m.payload === '2'), 5000)
    assert.deepEqual([...new Set(got.map((m) => m.topic))].filter((t) => !t.startsWith('$SYS/broker/')), [])
    assert.match(hub.logs(), /New client connected from 127\.0\.0\.1:\d+ as \S+ \(p2, c1, k\d+, u'jane'\)\. conn=\d+/, 'connection lines carry the connection number')
    await Promise.all([admin.endAsync(), other.endAsync()])
  })

  test('a user who is not an admin receives no $SYS topic, neither on $SYS/# nor on #; nobody may publish to $SYS', async () => {
    const jane = await client(hub.mqttPort, 'jane', 'jane-pw')
    const got = collect(jane)
    await jane.subscribeAsync(['$SYS/#', '#'], { qos: 0 })
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const adminGot = collect(admin)
    await admin.subscribeAsync('#', { qos: 0 })
    await admin.publishAsync('$SYS/broker/uptime', 'forged', { qos: 1 })
    await new Promise((r) => setTimeout(r, 2500)) // two $SYS rounds
    assert.deepEqual(got.filter((m) => m.topic.startsWith('$')).map((m) => m.topic), [])
    assert.deepEqual(adminGot.filter((m) => m.topic.startsWith('$')).map((m) => m.topic), [], "'#' does not match $SYS topics (MQTT-4.7.2-1)")
    assert.match(hub.logs(), /Denied PUBLISH from \S+ \(d0, q1, r0, m\d+, '\$SYS\/broker\/uptime'/)
    await Promise.all([jane.endAsync(), admin.endAsync()])
  })

  test('/metrics is for admins, counts MQTT and HTTP traffic and history writes; every response has an X-Request-Id', async () => {
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_000 })), { qos: 1 })
    await jane.publishAsync('owntracks/jane/phone', '{"_type":"location"', { qos: 1 })
    await jane.endAsync()
    assert.equal((await hub.http('/metrics', { user: '' })).status, 401)
    assert.equal((await hub.http('/metrics', { user: 'jane', password: 'jane-pw' })).status, 403)
    const res = await hub.http('/metrics')
    assert.equal(res.status, 200)
    assert.match(res.headers.get('x-request-id') ?? '', /^\w+-\w+$/)
    const text = await res.text()
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
    assert.ok(value('othub_mqtt_messages_received_total') >= 2)
    assert.equal(value('othub_history_writes_total'), 1)
    assert.equal(value('othub_decode_failures_total'), 1)
    assert.ok(value('othub_history_commit_seconds_count') >= 1)
    assert.ok(value('othub_mqtt_connections_total') >= 1)
    assert.ok(value('othub_mqtt_received_bytes_total') > 200, 'the CONNECT and both PUBLISHes')
    assert.ok(value('othub_mqtt_sent_bytes_total') >= 8, 'a CONNACK and two PUBACKs')
    assert.equal(value('othub_history_writable'), 1)
    assert.match(text, /^othub_http_requests_total\{method="GET",route="\/metrics",status="403"\} 1$/m)
    assert.match(text, /^process_resident_memory_bytes \d+/m)
    const given = await hub.http('/healthz', { headers: { 'x-request-id': 'trace-42' } })
    assert.equal(given.headers.get('x-request-id'), 'trace-42')
  })
})

describe('limits', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--max-payload', '1000', '--max-connections', '5', '--publish-rate', '20', '--auth-rate-account', '0', '--auth-rate-address', '0'] })
    await addUsers(hub, 'jane')
  })
  after(async () => { await hub?.stop() })

  test('a payload over max-payload is acknowledged and dropped, like Mosquitto; a packet far too big closes that connection only', async () => {
    const watcher = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(watcher)
    await watcher.subscribeAsync('owntracks/#', { qos: 1 })
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ face: 'x'.repeat(2000) })), { qos: 1 })
    await hub.waitForLog(/Dropped too large PUBLISH from janephone \(d0, q1, r0, m\d+, 'owntracks\/jane\/phone', \.\.\. \(\d+ bytes\)\): more than max-payload 1000 bytes/)
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_001 })), { qos: 1 })
    await waitFor('the small one', () => got.length >= 1)
    assert.equal(got.length, 1, 'only the small publish was delivered')
    assert.equal(JSON.parse(got[0].payload).tst, 1_700_000_001)

    // A header announcing 100 kB: refused as soon as the length is read
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect(hub.mqttPort, '127.0.0.1', () => {
        s.write(wire.connect({ clientId: 'big', username: 'jane', password: 'jane-pw' }))
        s.write(Buffer.concat([Buffer.from([0x30, 0xa0, 0x8d, 0x06]), Buffer.alloc(1000)]))
      })
      // Read what comes (a CONNACK may come before the close): an unread stream never sees its end, nor closes.
      s.resume()
      s.on('close', () => resolve(true))
      s.on('error', () => {})
    })
    assert.ok(closed)
    await hub.waitForLog(/closed: a publish packet of 100000 bytes, more than max-payload 1000 allows/)
    assert.equal(jane.connected, true)
    await Promise.all([jane.endAsync(), watcher.endAsync()])
  })

  test('connections over max-connections are closed at once and logged; the ones held keep working', async () => {
    // The previous test's connections must be gone on the hub's side too, or a held one would be refused.
    const open = async () => Number(/^othub_mqtt_connections (\d+)$/m.exec(await (await hub.http('/metrics')).text())![1])
    await waitFor('no MQTT connection open', async () => (await open()) === 0)
    const held: MqttClient[] = []
    for (let i = 0; i < 5; i++) held.push(await client(hub.mqttPort, 'jane', 'jane-pw', { clientId: `held${i}` }))
    // A raw socket: MQTT.js may wait forever for a CONNACK on a connection closed before it was read.
    const answered = await new Promise<boolean>((resolve) => {
      const sixth = connect(hub.mqttPort, '127.0.0.1', () => sixth.write(wire.connect({ clientId: 'sixth', username: 'jane', password: 'jane-pw' })))
      // A CONNACK means it was let in: say so at once instead of waiting for a close that never comes.
      sixth.on('data', () => { resolve(true); sixth.destroy() })
      sixth.on('close', () => resolve(false))
      sixth.on('error', () => {})
    })
    assert.equal(answered, false, 'the sixth connection is closed without a CONNACK')
    await hub.waitForLog(/Refused 1 connection\(s\), the last from 127\.0\.0\.1:\d+: 5 are open, the max-connections limit/)
    await held[0].publishAsync('owntracks/jane/x', 'still fine', { qos: 1 })
    await Promise.all(held.map((c) => c.endAsync()))
    await waitFor('the held connections to be gone', async () => (await open()) === 0)
    const again = await client(hub.mqttPort, 'jane', 'jane-pw')
    await again.endAsync()
  })

  test('a client over publish-rate is slowed down and logged, and everything it sent arrives', async () => {
    const watcher = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(watcher)
    await watcher.subscribeAsync('owntracks/jane/+', { qos: 1 })
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await Promise.all(Array.from({ length: 40 }, (_, i) => jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_100 + i })), { qos: 1 })))
    await hub.waitForLog(/Client janephone publishes faster than publish-rate 20\/s: slowing it down \(nothing is dropped\)/)
    await waitFor('40 deliveries', () => got.length >= 40, 10_000)
    assert.deepEqual(got.map((m) => JSON.parse(m.payload).tst), Array.from({ length: 40 }, (_, i) => 1_700_000_100 + i), 'all, in order')
    await Promise.all([jane.endAsync(), watcher.endAsync()])
  })

  test('with --auth-rate-account 0 and --auth-rate-address 0 every password is checked', async () => {
    for (let i = 0; i < 30; i++) await assert.rejects(client(hub.mqttPort, 'jane', `wrong${i}`))
    const right = await client(hub.mqttPort, 'jane', 'jane-pw')
    await right.endAsync()
    assert.doesNotMatch(hub.logs(), /Refusing logins unchecked/)
  })
})

describe('configuration', () => {
  test('serve --check-config prints the settings and exits 0, or exits 1 naming the bad key', async () => {
    const dir = tempDir()
    const ok = await runCli(['serve', '--check-config', '--data', dir, '--mqtt-port', '1999'], { env: { OTHUB_SYS_INTERVAL: '30' } })
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /^Configuration OK/)
    assert.match(ok.stdout, /^mqttPort: 1999$/m)
    assert.match(ok.stdout, /^sysInterval: 30$/m)
    const bad = await runCli(['serve', '--check-config', '--data', dir], { env: { OTHUB_MAX_PAYLOAD: 'lots' } })
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /OTHUB_MAX_PAYLOAD: maxPayload must be a whole number/)
  })

  test('healthcheck exits 0 against a running hub and 1 when none answers', async () => {
    const hub = await startHub()
    try {
      const ok = await runCli(['healthcheck', '--http-port', String(hub.httpPort), '--host', '127.0.0.1'])
      assert.equal(ok.code, 0, ok.stderr)
    } finally { await hub.stop() }
    const down = await runCli(['healthcheck', '--http-port', String(hub.httpPort), '--host', '127.0.0.1'])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /^unhealthy: /)
  })
})
